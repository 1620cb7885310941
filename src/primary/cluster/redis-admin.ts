// The Redis transport's request/reply: admin requests go to the inbox channel of the node that must answer,
// and its reply (or the frames of its live feed) to the asking node's inbox. No node ever calls another's
// admin port, so every admin port stays on loopback with its own --admin-token: whoever can publish under
// the prefix is trusted as a node, so Redis's own password and ACLs are the boundary (docs/cluster.md).
// A request nobody subscribes to fails at once (502); one unanswered within ADMIN_REPLY_TIMEOUT_MS, 504.
// A feed is a lease: the watching node renews it every few seconds, and the watched node ends a feed nobody
// renewed, so a watcher that dies costs nothing after a while.
import { randomBytes } from 'node:crypto';
import { createParser, type EventSourceParser } from 'eventsource-parser';
import { debugFor } from '../../log.js';
import type { DeliveryTarget } from '../../protocol/ipc.js';
import { ADMIN_REPLY_TIMEOUT_MS, type FeedHandlers, type FeedOutput, type ListingQuery, type NodeAdmin, type NodePage, type NodeReply, type NodeRequests } from './cluster.js';
import { parsePage, type InboxMessage, type OutgoingInbox, type Request } from './redis-messages.js';

const debug = debugFor('cluster');

const RENEW_MS = 5000;
const LEASE_MS = 3 * RENEW_MS;
/** Characters of a feed that may wait for the end of their event. */
const MAX_PENDING_EVENT_CHARS = 1 << 20;

type Reply = Extract<InboxMessage, { t: 're' }>;

interface Pending {
  node: string;
  resolve(reply: NodeReply<unknown>): void;
  timer: NodeJS.Timeout;
}

interface Watching {
  node: string;
  parser: EventSourceParser;
  handlers: FeedHandlers;
  renew: NodeJS.Timeout;
  /** Until the first event (the snapshot) arrives. */
  firstEvent: NodeJS.Timeout | undefined;
}

interface Watcher {
  from: string;
  renewedAt: number;
  closeListeners: (() => void)[];
}

export interface Inboxes {
  /** Publishes to `node`'s inbox; resolves with the number of nodes that got it (0: nobody listens). */
  send(node: string, message: OutgoingInbox): Promise<number>;
}

export class RedisAdmin implements NodeRequests {
  private readonly pending = new Map<string, Pending>();
  private readonly watching = new Map<string, Watching>();
  private readonly watchers = new Map<string, Watcher>();
  private admin: NodeAdmin | undefined;
  private readonly leaseTimer: NodeJS.Timeout;

  constructor(private readonly inboxes: Inboxes) {
    this.leaseTimer = setInterval(() => this.expireLeases(Date.now()), RENEW_MS);
    this.leaseTimer.unref();
  }

  serve(admin: NodeAdmin): void {
    this.admin = admin;
  }

  async listConnections(node: string, query: ListingQuery, after: number): Promise<NodeReply<NodePage>> {
    const reply = await this.request(node, { k: 'page', query, after });
    if (!reply.ok) return reply;
    const page = parsePage(reply.value, query.limit);
    return page ? { ok: true, value: page } : { ok: false, status: 502, reason: `node ${node} sent a bad listing` };
  }

  async deliver(node: string, target: DeliveryTarget, event: string, data: string): Promise<NodeReply<number>> {
    const reply = await this.request(node, { k: 'deliver', target, event, data });
    if (!reply.ok) return reply;
    const count = reply.value;
    return Number.isSafeInteger(count) && (count as number) >= 0 ? { ok: true, value: count as number } : { ok: false, status: 502, reason: `node ${node} sent a bad answer` };
  }

  watch(node: string, ns: string | undefined, handlers: FeedHandlers): () => void {
    const id = newId();
    let ended = false;
    const close = (): void => {
      if (ended) return;
      ended = true;
      const watching = this.watching.get(id);
      clearInterval(watching?.renew);
      clearTimeout(watching?.firstEvent);
      this.watching.delete(id);
    };
    const end = (reason: string): void => {
      if (ended) return;
      close();
      debug('feed of node %s: %s', node, reason);
      handlers.end(reason);
    };
    const parser = createParser({
      maxBufferSize: MAX_PENDING_EVENT_CHARS,
      onEvent: ({ event, data }) => {
        const watching = this.watching.get(id);
        if (!watching) return;
        clearTimeout(watching.firstEvent);
        watching.firstEvent = undefined;
        handlers.event(event ?? 'message', data);
      },
      onError: (error) => end(`node ${node} sent a bad stream: ${error.message}`),
    });
    const renew = setInterval(() => void this.inboxes.send(node, { t: 'req', id, request: { k: 'renew' } }).catch(() => {}), RENEW_MS);
    const firstEvent = setTimeout(() => end(`node ${node} did not answer within ${ADMIN_REPLY_TIMEOUT_MS / 1000} s`), ADMIN_REPLY_TIMEOUT_MS);
    this.watching.set(id, { node, parser, handlers: { event: handlers.event, end }, renew, firstEvent });
    this.inboxes.send(node, { t: 'req', id, request: { k: 'watch', ns } }).then(
      (listeners) => { if (listeners === 0) end(notListening(node)); },
      (error: Error) => end(`Redis is unreachable: ${error.message}`),
    );
    return () => {
      if (ended) return;
      close();
      void this.inboxes.send(node, { t: 'req', id, request: { k: 'unwatch' } }).catch(() => {});
    };
  }

  /** A message in this node's inbox. */
  onInbox(m: InboxMessage): void {
    switch (m.t) {
      case 'req':
        return void this.answer(m.from, m.id, m.request);
      case 're':
        return this.replied(m);
      case 'feed': {
        const watching = this.watching.get(m.id);
        if (watching?.node === m.from) watching.parser.feed(m.frame);
        return;
      }
      case 'feed-end': {
        const watching = this.watching.get(m.id);
        if (watching?.node === m.from) watching.handlers.end(`the feed of node ${m.from} ended: ${m.reason}`);
        return;
      }
    }
  }

  /** A node left the cluster: its feeds end and its requests fail now rather than at their timeout. */
  nodeGone(node: string): void {
    for (const [id, pending] of this.pending) {
      if (pending.node === node) this.settle(id, { ok: false, status: 502, reason: `node ${node} left the cluster` });
    }
    for (const watching of [...this.watching.values()]) {
      if (watching.node === node) watching.handlers.end(`node ${node} left the cluster`);
    }
    for (const [id, watcher] of this.watchers) if (watcher.from === node) this.endWatcher(id);
  }

  close(): void {
    clearInterval(this.leaseTimer);
    for (const id of [...this.watchers.keys()]) this.endWatcher(id, 'the node is stopping');
    for (const watching of [...this.watching.values()]) watching.handlers.end('this node is stopping');
    for (const id of [...this.pending.keys()]) this.settle(id, { ok: false, status: 502, reason: 'this node is stopping' });
  }

  private request(node: string, request: Request): Promise<NodeReply<unknown>> {
    const id = newId();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(id, { ok: false, status: 504, reason: `node ${node} did not answer within ${ADMIN_REPLY_TIMEOUT_MS / 1000} s` }), ADMIN_REPLY_TIMEOUT_MS);
      this.pending.set(id, { node, resolve, timer });
      this.inboxes.send(node, { t: 'req', id, request }).then(
        (listeners) => { if (listeners === 0) this.settle(id, { ok: false, status: 502, reason: notListening(node) }); },
        (error: Error) => this.settle(id, { ok: false, status: 502, reason: `Redis is unreachable: ${error.message}` }),
      );
    });
  }

  private settle(id: string, reply: NodeReply<unknown>): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    if (!reply.ok) debug('request %s to node %s: %s', id, pending.node, reply.reason);
    pending.resolve(reply);
  }

  private replied(m: Reply): void {
    // Only the node asked may answer.
    if (this.pending.get(m.id)?.node !== m.from) return;
    this.settle(m.id, m.ok ? { ok: true, value: m.value } : { ok: false, status: m.status, reason: m.reason });
  }

  private async answer(from: string, id: string, request: Request): Promise<void> {
    const reply = (value: unknown): Promise<number> => this.inboxes.send(from, { t: 're', id, ok: true, value });
    const refuse = (status: 404 | 502, reason: string): Promise<number> => this.inboxes.send(from, { t: 're', id, ok: false, status, reason });
    try {
      const admin = this.admin;
      switch (request.k) {
        case 'page':
          if (!admin) return void (await refuse(502, 'this node has no admin port'));
          return void (await reply(await admin.page(request.query, request.after)));
        case 'deliver': {
          if (!admin) return void (await refuse(502, 'this node has no admin port'));
          const delivered = await admin.deliver(request.target, request.event, request.data);
          return void (await (delivered === undefined ? refuse(404, 'no such connection on this node') : reply(delivered)));
        }
        case 'watch':
          if (!admin || this.watchers.has(id)) return void (await this.inboxes.send(from, { t: 'feed-end', id, reason: 'this node has no admin port' }));
          return admin.watch(request.ns, this.relay(from, id));
        case 'renew': {
          const watcher = this.watchers.get(id);
          if (watcher?.from === from) watcher.renewedAt = Date.now();
          return;
        }
        case 'unwatch':
          if (this.watchers.get(id)?.from === from) this.endWatcher(id);
          return;
      }
    } catch (error) {
      debug('could not answer %s from node %s: %s', request.k, from, (error as Error).message);
    }
  }

  /** A feed of this node's events, relayed to the inbox of the node that watches it. */
  private relay(from: string, id: string): FeedOutput {
    const watcher: Watcher = { from, renewedAt: Date.now(), closeListeners: [] };
    this.watchers.set(id, watcher);
    const send = (message: OutgoingInbox): void => void this.inboxes.send(from, message).catch(() => {});
    return {
      write: (frame) => send({ t: 'feed', id, frame: frame.toString('utf8') }),
      // What Redis has not taken yet is the client's to bound; the lease ends a feed nobody reads.
      buffered: 0,
      end: () => this.endWatcher(id, 'ended'),
      abort: () => this.endWatcher(id, 'ended'),
      onClose: (listener) => void watcher.closeListeners.push(listener),
    };
  }

  private endWatcher(id: string, tell?: string): void {
    const watcher = this.watchers.get(id);
    if (!watcher) return;
    this.watchers.delete(id);
    if (tell !== undefined) void this.inboxes.send(watcher.from, { t: 'feed-end', id, reason: tell }).catch(() => {});
    for (const listener of watcher.closeListeners) listener();
  }

  private expireLeases(now: number): void {
    for (const [id, watcher] of this.watchers) {
      if (now - watcher.renewedAt > LEASE_MS) this.endWatcher(id, 'not renewed');
    }
  }
}

function newId(): string {
  return randomBytes(12).toString('base64url').replace(/[-_]/g, '0').toLowerCase();
}

function notListening(node: string): string {
  return `node ${node} is not listening on Redis`;
}
