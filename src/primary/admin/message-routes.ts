// POST /api/{namespaces/{ns} | users/{user} | connections/{id}}/messages with `{"event": "...", "data": ...}`:
// a targeted message, answered `{"delivered": N}` once the workers holding the targets have said how many
// connections got it. `data` reaches viewers as is when it is a string, else as its JSON text, so a page can
// send plain text without quotes and structured data the page parses itself.
//
// Across a cluster: a connection held by another node is passed to that node (its id names it), and a
// namespace or user message goes to this node's workers and to every peer at once, the counts added up.
// A forwarded request (from a peer) acts on this node only, so nothing is forwarded twice.
import { answer } from './answer.js';
import { parseConnectionId, type ConnectionInfo } from '../connections-index.js';
import { eventNameProblem } from '../../protocol/event-name.js';
import type { DeliveryTarget } from '../../protocol/ipc.js';
import { deliverOnPeers, forwardToNode } from './forwarding.js';
import { readJsonBody } from './json-body.js';
import { isForwarded, type PeerAdmins } from './peer-admins.js';
import { namespaceParam, userParam, type Parsed } from './report-params.js';
import { sendJson } from './respond.js';
import type { Route, RouteContext } from './server.js';

export interface MessageDeps {
  /** An open connection of this node, or undefined. */
  connection(id: string): ConnectionInfo | undefined;
  /** Sends to the workers that may hold the target and resolves with how many connections received it. */
  deliver(target: DeliveryTarget, event: string, data: string, worker: number | undefined): Promise<number>;
  peers: PeerAdmins;
}

interface Message {
  event: string;
  data: string;
}

export function parseMessage(body: unknown): Parsed<Message> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, reason: 'expected a JSON object {"event": "...", "data": ...}' };
  const { event, data } = body as Record<string, unknown>;
  const problem = eventNameProblem(event);
  if (problem !== undefined) return { ok: false, reason: problem };
  const name = event as string;
  if (data === undefined) return { ok: true, value: { event: name, data: '' } };
  return { ok: true, value: { event: name, data: typeof data === 'string' ? data : JSON.stringify(data) } };
}

/** This node's workers (all of them, or the one holding the connection), or the peer holding the connection. */
type Destination = { target: DeliveryTarget; worker: number | undefined } | { node: string };

type Resolve = (context: RouteContext) => Parsed<Destination> | 'unknown';

function messageRoute(pattern: string[], deps: MessageDeps, resolve: Resolve): Route {
  return {
    method: 'POST',
    pattern,
    async handle(context) {
      const { req, res } = context;
      const target = resolve(context);
      if (target === 'unknown') return answer(res, 404, 'no such connection on this node');
      if (!target.ok) return answer(res, 400, target.reason);
      const body = await readJsonBody(req);
      if (!body.ok) return answer(res, body.status, body.reason, body.status === 413 ? { Connection: 'close' } : {});
      const message = parseMessage(body.value);
      if (!message.ok) return answer(res, 400, message.reason);
      const destination = target.value;
      // The peer checks the body again: pass it on as it came, not as parsed for the workers.
      const forwarded = JSON.stringify(body.value);
      if ('node' in destination) return forwardToNode(res, deps.peers, destination.node, req.url!, forwarded);
      const { event, data } = message.value;
      const here = deps.deliver(destination.target, event, data, destination.worker);
      if (destination.target.kind === 'connection' || isForwarded(req)) return sendJson(res, { delivered: await here });
      const [delivered, elsewhere] = await Promise.all([here, deliverOnPeers(deps.peers, req.url!, forwarded)]);
      sendJson(res, { delivered: delivered + elsewhere.delivered, ...(elsewhere.unreachable.length > 0 ? { unreachable: elsewhere.unreachable } : {}) });
    },
  };
}

export function messageRoutes(deps: MessageDeps): Route[] {
  return [
    messageRoute(['api', 'namespaces', ':ns', 'messages'], deps, ({ params }) => {
      const ns = namespaceParam(params.ns!);
      return ns.ok ? { ok: true, value: { target: { kind: 'namespace', ns: ns.value }, worker: undefined } } : ns;
    }),
    messageRoute(['api', 'users', ':user', 'messages'], deps, ({ params }) => {
      const user = userParam(params.user!);
      return user.ok ? { ok: true, value: { target: { kind: 'user', user: user.value }, worker: undefined } } : user;
    }),
    messageRoute(['api', 'connections', ':id', 'messages'], deps, ({ req, params }) => {
      let id: string;
      try {
        id = decodeURIComponent(params.id!);
      } catch {
        return 'unknown';
      }
      const info = deps.connection(id);
      if (info) return { ok: true, value: { target: { kind: 'connection', connection: info.connection }, worker: info.worker } };
      const node = parseConnectionId(id)?.node;
      if (node === undefined || node === deps.peers.self || isForwarded(req)) return 'unknown';
      return { ok: true, value: { node } };
    }),
  ];
}
