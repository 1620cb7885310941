// A strict, small reader for the head of the one request the fast path serves: a GET or POST without a
// body asking for an event stream, or a WebSocket upgrade (`Upgrade` with `Connection: upgrade`). It never
// guesses: anything it does not fully understand (another method, a body, an `Upgrade` without `Connection:
// upgrade`, a repeated upgrade header, folded or odd headers, HTTP/1.0 keep-alive games) is declined, and the
// caller hands the bytes to node:http, whose parser answers every other case. Fuzzed in
// test/request-head.test.ts and, on the real daemon, test/request-head-daemon.test.ts.
//
// It also decides as early as it can that bytes are no HTTP/1.x request at all, so that no client waits for
// the head deadline, nor gets an answer from node:http's leniency (HTTP/0.9, bare LF line ends). Each chunk
// is checked against the grammar a head could still follow (RFC 9112: a request line `method SP target SP
// HTTP/1.x`, field lines, every line ended by CRLF, no control bytes but HT): the first byte off it makes
// the head 'malformed' (400). The opening of another protocol, a TLS record or the HTTP/2 preface, is
// 'foreign': its client would not understand an HTTP/1.1 answer, so the socket is only closed.
import { connectionUpgrades, type UpgradeHeaders } from './ws-handshake.js';

/** The request line and headers may take at most this many bytes (node:http gets the same limit). */
export const MAX_HEAD_BYTES = 8192;

export interface RequestHead {
  method: 'GET' | 'POST';
  target: string;
  /** Lower-cased names of the headers the daemon reads; others are skipped. */
  accept?: string;
  lastEventId?: string;
  userAgent?: string;
  referer?: string;
  forwardedFor?: string;
  /** Set on a WebSocket upgrade only (an `Upgrade` header and `Connection: upgrade`): what the handshake reads. */
  upgrade?: UpgradeHeaders;
  /** Bytes of the head including the blank line: anything after it is not part of this request. */
  length: number;
}

/**
 * `incomplete`: a head could still follow, wait for more bytes. `decline`: an HTTP/1.x head the fast path does
 * not serve (node:http answers it). `malformed`: cannot be an HTTP/1.x head (answer 400). `foreign`: another
 * protocol's opening (close at once).
 */
export type HeadResult = RequestHead | 'incomplete' | 'decline' | 'malformed' | 'foreign';

const REQUEST_LINE = /^(GET|POST) (\/[\x21-\x7e]*) HTTP\/1\.[01]$/;
// What any HTTP/1.x head looks like, finished or still arriving: a token method, a target of visible bytes
// (obs-text included, node:http judges those), the version; field lines start with a token and a colon
// (or are folds, which node:http judges too).
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]";
const ANY_REQUEST_LINE = new RegExp(`^${TOKEN}+ [\\x21-\\x7e\\x80-\\xff]+ HTTP/1\\.[01]$`);
const REQUEST_LINE_SO_FAR = new RegExp(`^(${TOKEN}*|${TOKEN}+ [\\x21-\\x7e\\x80-\\xff]*|${TOKEN}+ [\\x21-\\x7e\\x80-\\xff]+ (H(T(T(P(/(1(\\.[01]?)?)?)?)?)?)?)?)$`);
const ANY_FIELD_LINE = new RegExp(`^(${TOKEN}+:|[ \\t])`);
const FIELD_LINE_SO_FAR = new RegExp(`^(${TOKEN}*$|${TOKEN}+:|[ \\t])`);
/** Control bytes (CR and LF outside a CRLF included) that no line of a head may hold; HT is allowed. */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
const TLS_HANDSHAKE_RECORD = 0x16;
const HTTP2_PREFACE_LINE = /^PRI \* HTTP\/2/;
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([\x20-\x7e\t\x80-\xff]*?)[ \t]*$/;
// Headers that mean the request is not a plain body-less stream request or upgrade.
const DECLINE_IF_PRESENT = new Set(['transfer-encoding', 'expect']);

const UPGRADE_FIELDS = {
  upgrade: 'upgrade', 'sec-websocket-key': 'key', 'sec-websocket-version': 'version', 'sec-websocket-protocol': 'protocol',
} as const satisfies Record<string, keyof UpgradeHeaders>;

export function readRequestHead(bytes: Buffer): HeadResult {
  if (bytes[0] === TLS_HANDSHAKE_RECORD) return 'foreign';
  const end = bytes.indexOf('\r\n\r\n');
  // latin1 maps each byte to one char, so lengths and offsets stay byte-exact.
  const lines = bytes.toString('latin1', 0, end === -1 ? Math.min(bytes.length, MAX_HEAD_BYTES) : end).split('\r\n');
  // The usual case first: a whole head the fast path serves. Its grammar is stricter than plausibleHttp1's
  // (no control byte, a token before every colon), so a head it reads needs no second look.
  if (end !== -1 && end + 4 <= MAX_HEAD_BYTES) {
    const head = streamHead(lines, end + 4);
    if (head !== undefined) return head;
  }
  const verdict = plausibleHttp1(lines, end !== -1);
  if (verdict !== undefined) return verdict;
  if (end === -1) return bytes.length >= MAX_HEAD_BYTES ? 'decline' : 'incomplete';
  return 'decline';
}

/** The head of a stream request the fast path serves, read from its lines; undefined for any other head. */
function streamHead(lines: string[], length: number): RequestHead | undefined {
  const requestLine = REQUEST_LINE.exec(lines[0]!);
  if (!requestLine) return undefined;
  const head: RequestHead = { method: requestLine[1] as 'GET' | 'POST', target: requestLine[2]!, length };
  let connection: string | undefined;
  let upgrade: UpgradeHeaders | undefined;
  for (let i = 1; i < lines.length; i++) {
    const header = HEADER_LINE.exec(lines[i]!);
    if (!header) return undefined;
    const name = header[1]!.toLowerCase();
    const value = header[2]!;
    if (DECLINE_IF_PRESENT.has(name)) return undefined;
    switch (name) {
      case 'content-length':
        if (value !== '0') return undefined;
        break;
      case 'accept':
        head.accept = head.accept === undefined ? value : `${head.accept}, ${value}`;
        break;
      case 'last-event-id':
        if (head.lastEventId !== undefined) return undefined;
        head.lastEventId = value;
        break;
      case 'user-agent':
        head.userAgent = value;
        break;
      case 'referer':
        head.referer = value;
        break;
      case 'x-forwarded-for':
        head.forwardedFor = head.forwardedFor === undefined ? value : `${head.forwardedFor}, ${value}`;
        break;
      case 'connection':
        connection = connection === undefined ? value : `${connection}, ${value}`;
        break;
      case 'upgrade':
      case 'sec-websocket-key':
      case 'sec-websocket-version':
      case 'sec-websocket-protocol': {
        upgrade ??= { upgrade: undefined, key: undefined, version: undefined, protocol: undefined };
        const field = UPGRADE_FIELDS[name];
        // A repeated one is node:http's to join (and the handshake's to refuse).
        if (upgrade[field] !== undefined) return undefined;
        upgrade[field] = value;
        break;
      }
    }
  }
  if (upgrade !== undefined) {
    // Sec-WebSocket-* without Upgrade, or an Upgrade that node:http would not treat as one: its case, not ours.
    if (upgrade.upgrade === undefined || !connectionUpgrades(connection)) return undefined;
    head.upgrade = upgrade;
  }
  return head;
}

/**
 * undefined while `lines` (the head split at CRLF; with `complete` false, the last one still arriving) can be,
 * or become, an HTTP/1.x head; otherwise why not.
 */
function plausibleHttp1(lines: string[], complete: boolean): 'malformed' | 'foreign' | undefined {
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    const arriving = !complete && i === lines.length - 1;
    // A CR at the very end may be the start of a CRLF still on its way.
    if (arriving && line.endsWith('\r')) line = line.slice(0, -1);
    if (CONTROL.test(line)) return 'malformed';
    if (i === 0) {
      if (HTTP2_PREFACE_LINE.test(line)) return 'foreign';
      if (!(arriving ? REQUEST_LINE_SO_FAR : ANY_REQUEST_LINE).test(line)) return 'malformed';
    } else if (!(arriving ? FIELD_LINE_SO_FAR : ANY_FIELD_LINE).test(line)) {
      return 'malformed';
    }
  }
  return undefined;
}
