// Opening and closing viewers' connections, the same way whichever transport carries them (an SSE stream
// on the raw fast path or node:http, or a WebSocket). One 'close' handler serves every connection: it finds
// its viewer on the emitter, so no closure is made per connection.
import type { EventEmitter } from 'node:events';
import { debugFor } from '../log.js';
import type { Hub } from './hub.js';
import type { Lifetimes } from './lifetimes.js';
import { newSessionId } from './session-ids.js';
import type { Sessions, Visit } from './sessions.js';
import type { UuidRegistry } from './uuid-registry.js';
import type { ViewerDirectory } from './viewer-directory.js';
import { SseViewer, type StreamSink, type Viewer } from './viewer.js';

const debug = debugFor('streams');
const VIEWER = Symbol('audience-meter.viewer');
type Carrier = EventEmitter & { [VIEWER]?: Viewer };

export interface Streams {
  /**
   * Registers an SSE stream (see `attach`) whose response head has been written, or is `responseHead`, to go
   * out in one write with the first count. `carrier` emits 'close' when the stream is gone.
   */
  open(sink: StreamSink, carrier: EventEmitter, ns: string, uuid: string | undefined, visit: Visit, responseHead?: Buffer): Viewer;
  /**
   * Registers a viewer made for `hub.roomFor(ns)`: counts it (now or after --increment-delay), files it for
   * targeted messages, applies its uuid, starts its session, and sends its first count.
   */
  attach(viewer: Viewer, carrier: EventEmitter, visit: Visit, responseHead?: Buffer): Viewer;
}

/** The viewer a carrier was attached with, while it is open: how shared handlers find their connection. */
export function viewerOf(carrier: EventEmitter): Viewer | undefined {
  return (carrier as Carrier)[VIEWER];
}

export function createStreams(hub: Hub, lifetimes: Lifetimes, uuids: UuidRegistry, sessions: Sessions, directory: ViewerDirectory): Streams {
  function onClose(this: Carrier): void {
    const viewer = this[VIEWER];
    if (!viewer) return;
    this[VIEWER] = undefined;
    debug('%s closed in %s', viewer.transport, viewer.room.name);
    hub.leave(viewer);
    lifetimes.forget(viewer);
    uuids.release(viewer);
    directory.remove(viewer);
    sessions.exit(viewer, Date.now());
  }

  function attach(viewer: Viewer, carrier: EventEmitter, visit: Visit, responseHead?: Buffer): Viewer {
    debug('%s opened in %s', viewer.transport, viewer.room.name);
    hub.add(viewer);
    directory.add(viewer, visit.identity?.user ?? null);
    sessions.enter(viewer, visit);
    (carrier as Carrier)[VIEWER] = viewer;
    carrier.on('close', onClose);
    if (viewer.uuid !== undefined) uuids.claim(viewer as Viewer & { uuid: string });
    lifetimes.track(viewer);
    viewer.sendFirstCount(hub.countFor(viewer), responseHead);
    return viewer;
  }

  return {
    open(sink, carrier, ns, uuid, visit, responseHead) {
      return attach(new SseViewer(hub.roomFor(ns), sink, Date.now(), uuid, newSessionId()), carrier, visit, responseHead);
    },
    attach,
  };
}
