// One thing to send to many viewers, in both wire formats, each encoded at most once and only when a viewer
// of that kind asks for it: a namespace of SSE viewers never pays for the JSON of WebSocket frames, nor the
// other way round. A push lives only while it is being written out.
import { countFrame, KEEPALIVE_FRAME, messageFrame } from '../protocol/sse.js';
import { wsCountFrame, wsExpelledFrame, wsMessageFrame } from '../protocol/ws-frames.js';

export interface Push {
  sse(): Buffer;
  /** undefined: nothing to send over WebSocket (SSE keep-alives; WebSocket has ping). */
  ws(): Buffer | undefined;
}

class LazyPush implements Push {
  private sseBytes: Buffer | undefined;
  private wsBytes: Buffer | undefined;

  constructor(private readonly encodeSse: () => Buffer, private readonly encodeWs: () => Buffer) {}

  sse(): Buffer {
    return (this.sseBytes ??= this.encodeSse());
  }

  ws(): Buffer {
    return (this.wsBytes ??= this.encodeWs());
  }
}

export function countPush(members: number): Push {
  return new LazyPush(() => countFrame(members), () => wsCountFrame(members));
}

/** A 2.x notification, `service=message`: SSE viewers get it as is, WebSocket viewers as event `service`. */
export function notificationPush(data: string): Push {
  const eq = data.indexOf('=');
  const event = eq === -1 ? 'message' : data.slice(0, eq);
  return new LazyPush(() => messageFrame(data), () => wsMessageFrame(event, eq === -1 ? data : data.slice(eq + 1)));
}

/** A targeted message: a named SSE event, or a WebSocket message frame. */
export function messagePush(event: string, data: string): Push {
  return new LazyPush(() => messageFrame(data, event), () => wsMessageFrame(event, data));
}

export const KEEPALIVE_PUSH: Push = { sse: () => KEEPALIVE_FRAME, ws: () => undefined };

const EXPELLED_SSE = messageFrame('device-limit-exceeded', 'expelled');
const EXPELLED_WS = wsExpelledFrame('device-limit-exceeded');
export const EXPELLED_PUSH: Push = { sse: () => EXPELLED_SSE, ws: () => EXPELLED_WS };
