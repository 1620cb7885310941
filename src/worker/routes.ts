// What a request to the public port asks for, decided once for both ways a request arrives (the raw
// stream fast path and node:http), so the two can never disagree.
import { decodeName, pathSegments } from '../protocol/namespace.js';
import { isProbe, type Probe } from './probes.js';

export type Route =
  | { kind: 'stream'; ns: string; uuid: string | undefined }
  /** A plain request to /{ns} (2.x answered 200, empty); with a uuid it ends that uuid's streams. */
  | { kind: 'plain'; uuid: string | undefined }
  | { kind: 'client-file'; name: string }
  | { kind: 'preflight' }
  /** GET /healthz or /readyz, for load balancers and orchestrators: never a stream, never counted. */
  | { kind: 'probe'; probe: Probe }
  | { kind: 'error'; status: number; reason: string };

export const CLIENT_FILES: ReadonlySet<string> = new Set(['audience.js', 'jquery.audience.js']);

export function wantsEventStream(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('text/event-stream');
}

/** A WebSocket upgrade: the same namespace (and uuid) rules as a stream request; only GET may upgrade. */
export function routeUpgrade(method: string, target: string, enableUuid: boolean): Route {
  if (method !== 'GET') return { kind: 'error', status: 405, reason: 'a WebSocket upgrade must be a GET' };
  // An upgrade asks for a live connection as surely as `Accept: text/event-stream` asks for a stream.
  const route = routeRequest(method, target, 'text/event-stream', enableUuid);
  if (route.kind === 'stream' || route.kind === 'error') return route;
  return { kind: 'error', status: 404, reason: 'expected /{namespace}' };
}

export function routeRequest(method: string, target: string, accept: string | undefined, enableUuid: boolean): Route {
  if (method === 'OPTIONS') return { kind: 'preflight' };
  if (method !== 'GET' && method !== 'POST' && method !== 'HEAD') return { kind: 'error', status: 405, reason: 'use GET or POST' };
  const [first = '', second, ...rest] = pathSegments(target);
  if (first === 'client' && second !== undefined && rest.length === 0 && CLIENT_FILES.has(second)) {
    return { kind: 'client-file', name: second };
  }
  const ns = decodeName(first);
  if (!ns.ok) return { kind: 'error', status: 400, reason: ns.reason };
  // The probes' names are not namespaces (a 2.x page using one gets a 404 that says why; docs/load-balancers.md).
  if (isProbe(ns.name)) {
    if (second === undefined && !wantsEventStream(accept)) return { kind: 'probe', probe: ns.name };
    return { kind: 'error', status: 404, reason: `/${ns.name} is the load balancers' probe, not a namespace` };
  }
  let uuid: string | undefined;
  // Without --enable-uuid, anything after the namespace is ignored, as 2.x did.
  if (enableUuid && second !== undefined && second !== '') {
    if (rest.length > 0) return { kind: 'error', status: 404, reason: 'expected /{namespace} or /{namespace}/{uuid}' };
    const decoded = decodeName(second, 'uuid');
    if (!decoded.ok) return { kind: 'error', status: 400, reason: decoded.reason };
    uuid = decoded.name;
  }
  if (method === 'HEAD' || !wantsEventStream(accept)) return { kind: 'plain', uuid };
  return { kind: 'stream', ns: ns.name, uuid };
}
