// A strict, small reader for the head of the one request the fast path serves: a GET or POST without a
// body asking for an event stream. It never guesses: anything it does not fully understand (another
// method, a body, an upgrade, folded or odd headers, HTTP/1.0 keep-alive games) is declined, and the
// caller hands the bytes to node:http, whose parser answers every other case. Fuzzed in
// test/request-head.test.ts.

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
  /** Bytes of the head including the blank line: anything after it is not part of this request. */
  length: number;
}

export type HeadResult = RequestHead | 'incomplete' | 'decline';

const REQUEST_LINE = /^(GET|POST) (\/[\x21-\x7e]*) HTTP\/1\.[01]$/;
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([\x20-\x7e\t\x80-\xff]*?)[ \t]*$/;
// Headers that mean the request is not a plain body-less stream request.
const DECLINE_IF_PRESENT = new Set(['transfer-encoding', 'upgrade', 'expect']);

export function readRequestHead(bytes: Buffer): HeadResult {
  const end = bytes.indexOf('\r\n\r\n');
  if (end === -1) return bytes.length >= MAX_HEAD_BYTES ? 'decline' : 'incomplete';
  if (end + 4 > MAX_HEAD_BYTES) return 'decline';
  // latin1 maps each byte to one char, so lengths and offsets stay byte-exact.
  const lines = bytes.toString('latin1', 0, end).split('\r\n');
  const requestLine = REQUEST_LINE.exec(lines[0]!);
  if (!requestLine) return 'decline';
  const head: RequestHead = { method: requestLine[1] as 'GET' | 'POST', target: requestLine[2]!, length: end + 4 };
  for (let i = 1; i < lines.length; i++) {
    const header = HEADER_LINE.exec(lines[i]!);
    if (!header) return 'decline';
    const name = header[1]!.toLowerCase();
    const value = header[2]!;
    if (DECLINE_IF_PRESENT.has(name)) return 'decline';
    switch (name) {
      case 'content-length':
        if (value !== '0') return 'decline';
        break;
      case 'accept':
        head.accept = head.accept === undefined ? value : `${head.accept}, ${value}`;
        break;
      case 'last-event-id':
        if (head.lastEventId !== undefined) return 'decline';
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
    }
  }
  return head;
}
