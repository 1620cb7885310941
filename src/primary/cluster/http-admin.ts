// The multicast transport's request/reply: on one LAN, admin requests go to the other node's admin port
// over HTTP (http-admin-routes.ts answers them there). Every request is marked as forwarded, so the peer
// answers from its own viewers only and never forwards again (no loops, whatever the cluster's shape), and
// carries this node's bearer token: the nodes of one multicast cluster share --admin-token. Each one is
// bounded in time and size, so a slow or dead peer costs a few seconds and a bounded amount of memory,
// never a hung request.
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { createParser } from 'eventsource-parser';
import { debugFor } from '../../log.js';
import type { DeliveryTarget } from '../../protocol/ipc.js';
import { ADMIN_REPLY_TIMEOUT_MS, type FeedHandlers, type ListingQuery, type NodePage, type NodeReply, type NodeRequests } from './cluster.js';

/** What this needs to know of a peer (from the multicast registry). */
export interface PeerAdminInfo {
  id: string;
  /** host:port of its admin port; null until it says, or without one */
  admin: string | null;
}
type PeerInfo = PeerAdminInfo;

const debug = debugFor('admin');

/** Set (to `1`) on forwarded requests: the receiving node acts on its own viewers only. */
export const FORWARDED_HEADER = 'X-Audience-Meter-Forwarded';
/** Time for a peer to answer, whole body included (or, for a feed, to send its first event). */
const PEER_TIMEOUT_MS = ADMIN_REPLY_TIMEOUT_MS;
/** A peer's answer larger than this is refused: a page of 1000 connections is a few hundred KB. */
const MAX_REPLY_BYTES = 4 << 20;
/** Characters of a peer's feed that may wait for the end of their event. */
const MAX_PENDING_EVENT_CHARS = 1 << 20;

export function isForwarded(req: IncomingMessage): boolean {
  return req.headers[FORWARDED_HEADER.toLowerCase()] === '1';
}

/** A peer's answer, or why there is none: 502 unreachable or refused, 504 too slow. */
export type PeerReply =
  | { ok: true; status: number; type: string; body: string }
  | { ok: false; status: 502 | 504; reason: string };

/** The path of a message route for `target`, as the admin API has it. */
function messagePath(target: DeliveryTarget): string {
  switch (target.kind) {
    case 'namespace':
      return `/api/namespaces/${encodeURIComponent(target.ns)}/messages`;
    case 'user':
      return `/api/users/${encodeURIComponent(target.user)}/messages`;
    case 'connection':
      return `/api/connections/${encodeURIComponent(target.connection)}/messages`;
  }
}

export class HttpAdmin implements NodeRequests {
  constructor(
    private readonly peers: () => readonly PeerInfo[],
    private readonly adminToken: string | undefined,
  ) {}

  async listConnections(node: string, query: ListingQuery, after: number): Promise<NodeReply<NodePage>> {
    const peer = this.get(node);
    if (!peer) return notInCluster(node);
    const params = new URLSearchParams({ limit: String(query.limit), after: String(after) });
    if (query.ns !== undefined) params.set('ns', query.ns);
    if (query.user !== undefined) params.set('user', query.user);
    const reply = await this.request(peer, 'GET', `/api/connections?${params}`);
    if (!reply.ok) return reply;
    if (reply.status !== 200) return { ok: false, status: 502, reason: refusal(peer, reply.status) };
    const page = parsePage(reply.body);
    return page ? { ok: true, value: page } : { ok: false, status: 502, reason: `node ${node} sent a bad listing` };
  }

  async deliver(node: string, target: DeliveryTarget, event: string, data: string): Promise<NodeReply<number>> {
    const peer = this.get(node);
    if (!peer) return notInCluster(node);
    const reply = await this.request(peer, 'POST', messagePath(target), JSON.stringify({ event, data }));
    if (!reply.ok) return reply;
    if (reply.status === 404) return { ok: false, status: 404, reason: reply.body.trim() || 'no such connection' };
    const count = reply.status === 200 ? deliveredIn(reply.body) : undefined;
    if (count === undefined) {
      const reason = refusal(peer, reply.status);
      debug('message on node %s: %s', peer.id, reason);
      return { ok: false, status: 502, reason };
    }
    return { ok: true, value: count };
  }

  watch(node: string, ns: string | undefined, handlers: FeedHandlers): () => void {
    const peer = this.get(node);
    if (!peer) {
      queueMicrotask(() => handlers.end(`node ${node} is not in the cluster`));
      return () => {};
    }
    return this.feed(peer, `/api/events${ns === undefined ? '' : `?ns=${encodeURIComponent(ns)}`}`, handlers);
  }

  private get(id: string): PeerInfo | undefined {
    return this.peers().find((peer) => peer.id === id);
  }

  /** One request to the same path on `peer`; `body` is JSON. Never rejects. */
  private request(peer: PeerInfo, method: 'GET' | 'POST', path: string, body?: string): Promise<PeerReply> {
    const endpoint = endpointOf(peer);
    if (!endpoint) return Promise.resolve(noAdminPort(peer));
    const headers: Record<string, string | number> = this.headers();
    if (body !== undefined) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    return new Promise((resolve) => {
      let done = false;
      const finish = (reply: PeerReply): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (!reply.ok) debug('%s %s on node %s: %s', method, path, peer.id, reply.reason);
        resolve(reply);
      };
      const req = request({ ...endpoint, method, path, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_REPLY_BYTES) {
            finish({ ok: false, status: 502, reason: `node ${peer.id} answered more than ${MAX_REPLY_BYTES} bytes` });
            req.destroy();
          } else chunks.push(chunk);
        });
        res.on('end', () => finish({ ok: true, status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? 'text/plain'), body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (error) => finish(unreachable(peer, error)));
        res.on('close', () => finish(unreachable(peer, new Error('the connection closed mid-answer'))));
      });
      const timer = setTimeout(() => {
        finish({ ok: false, status: 504, reason: `node ${peer.id} (${peer.admin}) did not answer within ${PEER_TIMEOUT_MS / 1000} s` });
        req.destroy();
      }, PEER_TIMEOUT_MS);
      req.on('error', (error) => finish(unreachable(peer, error)));
      req.end(body);
    });
  }

  /** Opens `path` on `peer` as an SSE stream; returns what closes it. */
  private feed(peer: PeerInfo, path: string, handlers: FeedHandlers): () => void {
    let req: ClientRequest | undefined;
    let ended = false;
    const close = (): void => {
      ended = true;
      clearTimeout(timer);
      req?.destroy();
    };
    const end = (reason: string): void => {
      if (ended) return;
      close();
      debug('feed of node %s: %s', peer.id, reason);
      handlers.end(reason);
    };
    const timer = setTimeout(() => end(`node ${peer.id} did not answer within ${PEER_TIMEOUT_MS / 1000} s`), PEER_TIMEOUT_MS);
    const endpoint = endpointOf(peer);
    if (!endpoint) {
      queueMicrotask(() => end(noAdminPort(peer).reason));
      return close;
    }
    req = request({ ...endpoint, path, headers: { ...this.headers(), Accept: 'text/event-stream' }, agent: false }, (res) => {
      if (res.statusCode !== 200) return end(refusal(peer, res.statusCode ?? 0));
      const parser = createParser({
        maxBufferSize: MAX_PENDING_EVENT_CHARS,
        onEvent: ({ event, data }) => {
          // The first event (the snapshot) comes at once; after it, a quiet feed is a quiet audience.
          clearTimeout(timer);
          if (!ended) handlers.event(event ?? 'message', data);
        },
        onError: (error) => end(`node ${peer.id} sent a bad stream: ${error.message}`),
      });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { if (!ended) parser.feed(chunk); });
      res.on('close', () => end(`the feed of node ${peer.id} ended`));
    });
    req.on('error', (error) => end(unreachable(peer, error).reason));
    req.end();
    return close;
  }

  private headers(): Record<string, string> {
    return { [FORWARDED_HEADER]: '1', ...(this.adminToken ? { Authorization: `Bearer ${this.adminToken}` } : {}) };
  }
}

/** `host:port` (IPv6 in brackets) as PeerInfo.admin gives it. */
function endpointOf(peer: PeerInfo): { host: string; port: number } | undefined {
  const match = peer.admin === null ? null : /^\[?([^\]]+)\]?:(\d+)$/.exec(peer.admin);
  return match ? { host: match[1]!, port: Number(match[2]) } : undefined;
}

/** Why a peer's answer is not what was asked, in one line; a 401 means the nodes' tokens differ. */
function refusal(peer: PeerInfo, status: number): string {
  return status === 401
    ? `node ${peer.id} refused the admin token: every node of the cluster needs the same --admin-token`
    : `node ${peer.id} answered ${status}`;
}

function noAdminPort(peer: PeerInfo): PeerReply & { ok: false } {
  return { ok: false, status: 502, reason: `node ${peer.id} has not told its admin port (it has none, or has just joined)` };
}

function unreachable(peer: PeerInfo, error: Error): PeerReply & { ok: false } {
  return { ok: false, status: 502, reason: `node ${peer.id} (${peer.admin}) is unreachable: ${error.message}` };
}

function notInCluster(node: string): NodeReply<never> {
  return { ok: false, status: 404, reason: `no such connection: node ${node} is not in the cluster` };
}

function deliveredIn(body: string): number | undefined {
  try {
    const { delivered } = JSON.parse(body) as { delivered?: unknown };
    return Number.isSafeInteger(delivered) && (delivered as number) >= 0 ? (delivered as number) : undefined;
  } catch {
    return undefined;
  }
}

function parsePage(body: string): NodePage | undefined {
  try {
    const { connections, next } = JSON.parse(body) as { connections?: unknown; next?: unknown };
    if (!Array.isArray(connections)) return undefined;
    if (next === null) return { connections, next: null };
    return typeof next === 'string' && /^\d{1,15}$/.test(next) ? { connections, next: Number(next) } : undefined;
  } catch {
    return undefined;
  }
}
