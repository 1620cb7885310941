// The server's half of the WebSocket opening handshake (RFC 6455 section 4.2), on the raw socket: the header
// checks ws's WebSocketServer made (the same 400s and reasons), then the 101 head with the accept key, written
// by the caller with the first count frame in one write. Routing and admission are the caller's, as for SSE.
import { createHash } from 'node:crypto';
import { rawAnswerWith } from './raw-answers.js';

/** RFC 6455: the key's accept value is the SHA-1 of the key and this GUID, in base64. */
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** A base64 nonce of 16 bytes, as ws requires. */
const KEY = /^[+/0-9A-Za-z]{22}==$/;
/** A subprotocol name is a token (RFC 6455 section 4.1). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The headers of an upgrade request the handshake reads, whichever parser read them. */
export interface UpgradeHeaders {
  upgrade: string | undefined;
  key: string | undefined;
  version: string | undefined;
  protocol: string | undefined;
}

export type Handshake = { ok: true; responseHead: Buffer } | { ok: false; answer: Buffer };

const INVALID_UPGRADE = rawAnswerWith(400, 'Invalid Upgrade header');
const INVALID_KEY = rawAnswerWith(400, 'Missing or invalid Sec-WebSocket-Key header');
// The versions this server speaks, told to a client that asked for another (RFC 6455 section 4.4).
const INVALID_VERSION = rawAnswerWith(400, 'Missing or invalid Sec-WebSocket-Version header', ['Sec-WebSocket-Version: 13, 8']);
const INVALID_PROTOCOL = rawAnswerWith(400, 'Invalid Sec-WebSocket-Protocol header');

/** Checks an upgrade's headers; on success the 101 head, which still needs its first frame. */
export function handshake(headers: UpgradeHeaders): Handshake {
  if (headers.upgrade === undefined || headers.upgrade.toLowerCase() !== 'websocket') return { ok: false, answer: INVALID_UPGRADE };
  if (headers.key === undefined || !KEY.test(headers.key)) return { ok: false, answer: INVALID_KEY };
  const version = Number(headers.version);
  if (version !== 13 && version !== 8) return { ok: false, answer: INVALID_VERSION };
  const protocol = headers.protocol === undefined ? undefined : firstProtocol(headers.protocol);
  if (protocol === null) return { ok: false, answer: INVALID_PROTOCOL };
  const accept = createHash('sha1').update(headers.key + GUID).digest('base64');
  // As ws does without a protocol handler: the client's first subprotocol is accepted (a browser that offered
  // some fails a handshake that picks none). Compression is never offered back: per-connection deflate
  // contexts would cost far more memory than the small frames they would save.
  return {
    ok: true,
    responseHead: Buffer.from(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
        + `Sec-WebSocket-Accept: ${accept}\r\n${protocol === undefined ? '' : `Sec-WebSocket-Protocol: ${protocol}\r\n`}\r\n`,
      'latin1',
    ),
  };
}

/** The first of a comma-separated list of distinct tokens; null when the list is malformed (ws's rule). */
function firstProtocol(list: string): string | null {
  const names = list.split(',').map((name) => name.trim());
  if (names.some((name) => !TOKEN.test(name)) || new Set(names).size !== names.length) return null;
  return names[0]!;
}

/** Whether a `Connection` header's tokens include `upgrade` (node:http's condition for an upgrade). */
export function connectionUpgrades(connection: string | undefined): boolean {
  return connection !== undefined && connection.split(',').some((token) => token.trim().toLowerCase() === 'upgrade');
}
