// The multicast transport's answers to the other nodes' admin requests (http-admin.ts sends them): requests
// on the admin API's own paths, marked as forwarded and carrying the shared --admin-token, answered from this
// node's own viewers only (NodeAdmin), so that nothing is forwarded twice.
import { answer } from '../admin/answer.js';
import { httpFeedOutput } from '../admin/event-feed.js';
import { integerParam, listingQuery, optional, queryNamespace } from '../admin/listing-params.js';
import { MESSAGE_TARGETS, readMessage } from '../admin/message-routes.js';
import { sendJson } from '../admin/respond.js';
import type { Route } from '../admin/server.js';
import type { NodeAdmin } from './cluster.js';
import { isForwarded } from './http-admin.js';

export function httpAdminRoutes(admin: NodeAdmin): Route[] {
  return [
    {
      pattern: ['api', 'connections'],
      accepts: isForwarded,
      async handle({ res, query }) {
        const listing = listingQuery(query);
        if (!listing.ok) return answer(res, 400, listing.reason);
        const after = integerParam(query.get('after'), 'after', 0, Number.MAX_SAFE_INTEGER);
        if (!after.ok) return answer(res, 400, after.reason);
        const page = await admin.page(listing.value, after.value);
        sendJson(res, { connections: page.connections, next: page.next === null ? null : String(page.next) });
      },
    },
    {
      pattern: ['api', 'events'],
      accepts: isForwarded,
      handle({ res, query }) {
        const ns = optional(query.get('ns'), queryNamespace);
        if (!ns.ok) return answer(res, 400, ns.reason);
        admin.watch(ns.value, httpFeedOutput(res));
      },
    },
    ...MESSAGE_TARGETS.map(({ pattern, target: targetOf }): Route => ({
      method: 'POST',
      pattern,
      accepts: isForwarded,
      async handle(context) {
        const read = await readMessage(context, targetOf);
        if (!read) return;
        const delivered = await admin.deliver(read.target, read.message.event, read.message.data);
        if (delivered === undefined) return answer(context.res, 404, 'no such connection on this node');
        sendJson(context.res, { delivered });
      },
    })),
  ];
}
