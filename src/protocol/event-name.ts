// Names of targeted messages (`event:` in SSE, `event` in a WebSocket message frame). One rule for the admin
// API, the IPC check and the worker, so a name the API accepts is one every transport can carry.
//
// 1..64 characters from [A-Za-z0-9_.-], starting with a letter: no CR, LF or colon can break an SSE frame,
// and names stay readable in logs. Names the browser client gives a meaning of its own are reserved:
// `message` (EventSource's unnamed event, parsed as a 2.x count or notification), `count`, `open`, `error`,
// and `expelled` (the device limit's, which makes the client stop for good).

const EVENT_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
export const RESERVED_EVENT_NAMES: ReadonlySet<string> = new Set(['message', 'count', 'open', 'error', 'expelled']);

export function isEventName(value: unknown): value is string {
  return typeof value === 'string' && EVENT_NAME.test(value) && !RESERVED_EVENT_NAMES.has(value);
}

/** Why `value` is not an acceptable event name, for a 400 answer; undefined when it is. */
export function eventNameProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'event must be a string';
  if (RESERVED_EVENT_NAMES.has(value)) return `event "${value}" is reserved`;
  if (!EVENT_NAME.test(value)) return 'event must be 1..64 characters from A-Z a-z 0-9 _ . - and start with a letter';
  return undefined;
}
