// POST /api/{namespaces/{ns} | users/{user} | connections/{id}}/messages with `{"event": "...", "data": ...}`:
// a targeted message, answered `{"delivered": N}` once the workers holding the targets have said how many
// connections got it. `data` reaches viewers as is when it is a string, else as its JSON text, so a page can
// send plain text without quotes and structured data the page parses itself.
//
// Across a cluster (through the seam, whatever the transport): a connection held by another node is passed
// to that node (its id names it) and its answer relayed, and a namespace or user message goes to this node's
// workers and to every other node at once, the counts added up.
import { answer } from './answer.js';
import { eventNameProblem } from '../../protocol/event-name.js';
import type { DeliveryTarget } from '../../protocol/ipc.js';
import type { Cluster, NodeAdmin } from '../cluster/cluster.js';
import { parseConnectionId } from '../../protocol/connection-id.js';
import { deliverOnNodes } from './forwarding.js';
import { readJsonBody } from './json-body.js';
import { namespaceParam, userParam, type Parsed } from './report-params.js';
import { sendJson } from './respond.js';
import type { Route, RouteContext } from './server.js';

export interface MessageDeps {
  /** This node's own deliveries. */
  local: NodeAdmin;
  cluster: Cluster;
}

export interface Message {
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

/** The target a message route names, or a reason it names none. */
export type TargetOf = (params: Record<string, string>) => Parsed<DeliveryTarget> | 'unknown';

export const MESSAGE_TARGETS: readonly { pattern: string[]; target: TargetOf }[] = [
  {
    pattern: ['api', 'namespaces', ':ns', 'messages'],
    target: (params) => {
      const ns = namespaceParam(params.ns!);
      return ns.ok ? { ok: true, value: { kind: 'namespace', ns: ns.value } } : ns;
    },
  },
  {
    pattern: ['api', 'users', ':user', 'messages'],
    target: (params) => {
      const user = userParam(params.user!);
      return user.ok ? { ok: true, value: { kind: 'user', user: user.value } } : user;
    },
  },
  {
    pattern: ['api', 'connections', ':id', 'messages'],
    target: (params) => {
      try {
        return { ok: true, value: { kind: 'connection', connection: decodeURIComponent(params.id!) } };
      } catch {
        return 'unknown';
      }
    },
  },
];

/** The target and the message of a message request, or the answer already sent. */
export async function readMessage(context: RouteContext, targetOf: TargetOf): Promise<{ target: DeliveryTarget; message: Message } | undefined> {
  const { req, res, params } = context;
  const target = targetOf(params);
  if (target === 'unknown') return void answer(res, 404, 'no such connection on this node');
  if (!target.ok) return void answer(res, 400, target.reason);
  const body = await readJsonBody(req);
  if (!body.ok) return void answer(res, body.status, body.reason, body.status === 413 ? { Connection: 'close' } : {});
  const message = parseMessage(body.value);
  if (!message.ok) return void answer(res, 400, message.reason);
  return { target: target.value, message: message.value };
}

async function send(context: RouteContext, deps: MessageDeps, target: DeliveryTarget, { event, data }: Message): Promise<void> {
  const { res } = context;
  if (target.kind === 'connection') {
    const here = await deps.local.deliver(target, event, data);
    if (here !== undefined) return sendJson(res, { delivered: here });
    const node = parseConnectionId(target.connection)?.node;
    if (node === undefined || node === deps.cluster.self) return answer(res, 404, 'no such connection on this node');
    if (!deps.cluster.nodes().includes(node)) return answer(res, 404, `no such connection: node ${node} is not in the cluster`);
    const reply = await deps.cluster.requests.deliver(node, target, event, data);
    return reply.ok ? sendJson(res, { delivered: reply.value }) : answer(res, reply.status, reply.reason);
  }
  const [delivered, elsewhere] = await Promise.all([deps.local.deliver(target, event, data), deliverOnNodes(deps.cluster, target, event, data)]);
  sendJson(res, { delivered: (delivered ?? 0) + elsewhere.delivered, ...(elsewhere.unreachable.length > 0 ? { unreachable: elsewhere.unreachable } : {}) });
}

export function messageRoutes(deps: MessageDeps): Route[] {
  return MESSAGE_TARGETS.map(({ pattern, target: targetOf }) => ({
    method: 'POST' as const,
    pattern,
    async handle(context: RouteContext) {
      const read = await readMessage(context, targetOf);
      if (read) await send(context, deps, read.target, read.message);
    },
  }));
}
