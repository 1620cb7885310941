// Namespace and uuid names as they arrive in a URL path: percent-decoded, 1..200 bytes, no control characters.
// The same rule serves the public port and the notification port, so a name always means the same event.

export const MAX_NAME_BYTES = 200;

export type NameResult = { ok: true; name: string } | { ok: false; reason: string };

// C0 controls, DEL and C1 controls: they would break log lines, SSE frames and the stats JSON consumers.
export const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

export function decodeName(raw: string, what = 'namespace'): NameResult {
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    return { ok: false, reason: `${what} is not valid percent-encoding` };
  }
  const problem = nameProblem(name, what);
  return problem === undefined ? { ok: true, name } : { ok: false, reason: problem };
}

/** Why an already decoded name is not acceptable, or undefined. Peer datagrams carry decoded names too. */
export function nameProblem(name: string, what = 'namespace'): string | undefined {
  if (name.length === 0) return `${what} is empty`;
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `${what} is longer than ${MAX_NAME_BYTES} bytes`;
  if (CONTROL_CHARACTER.test(name)) return `${what} contains a control character`;
  return undefined;
}

/** The path of a request target without its query string, split on '/', leading slash dropped. */
export function pathSegments(target: string): string[] {
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  return path.split('/').slice(1);
}
