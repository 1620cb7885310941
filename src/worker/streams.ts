// Opening and closing viewers' streams, the same way whichever transport carries them. One 'close'
// handler serves every stream: it finds its viewer on the emitter, so no closure is made per connection.
import type { EventEmitter } from 'node:events';
import { firstCountFrame } from '../protocol/sse.js';
import { debugFor } from '../log.js';
import type { Hub } from './hub.js';
import type { Lifetimes } from './lifetimes.js';
import { newSessionId } from './session-ids.js';
import type { Sessions, Visit } from './sessions.js';
import type { UuidRegistry } from './uuid-registry.js';
import type { StreamSink, Viewer } from './viewer.js';

const debug = debugFor('streams');
const VIEWER = Symbol('audience-meter.viewer');
type Carrier = EventEmitter & { [VIEWER]?: Viewer };

export interface Streams {
  /**
   * Registers a stream whose response head has been written: counts it (now or after --increment-delay),
   * applies its uuid, starts its session, and writes its first count with the session id. `carrier` emits
   * 'close' when the stream is gone.
   */
  open(sink: StreamSink, carrier: EventEmitter, ns: string, uuid: string | undefined, visit: Visit): Viewer;
}

export function createStreams(hub: Hub, lifetimes: Lifetimes, uuids: UuidRegistry, sessions: Sessions): Streams {
  function onClose(this: Carrier): void {
    const viewer = this[VIEWER];
    if (!viewer) return;
    this[VIEWER] = undefined;
    debug('stream closed in %s', viewer.room.name);
    hub.leave(viewer);
    lifetimes.forget(viewer);
    uuids.release(viewer);
    sessions.exit(viewer, Date.now());
  }

  return {
    open(sink, carrier, ns, uuid, visit) {
      debug('stream opened in %s', ns);
      const viewer = hub.join(ns, sink, Date.now(), uuid, newSessionId());
      sessions.enter(viewer, visit);
      (carrier as Carrier)[VIEWER] = viewer;
      carrier.on('close', onClose);
      if (uuid !== undefined) uuids.claim(viewer as Viewer & { uuid: string });
      lifetimes.track(viewer);
      sink.write(firstCountFrame(hub.countFor(viewer), viewer.session));
      return viewer;
    },
  };
}
