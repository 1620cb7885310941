// The 2.x notification route, GET /{namespace}/{service}/{message}: sends `data: {service}={message}` to every
// viewer of the namespace, at once, on every worker and every node. Service and message go out exactly as
// they arrived in the path (percent-encoded, as 2.x sent them); the namespace is decoded like the public
// port's. And GET /api/nodes (also under its old name /api/peers), which describes the cluster's nodes.
import { answer } from './answer.js';
import { decodeName } from '../../protocol/namespace.js';
import type { ClusterReport } from '../cluster/cluster.js';
import { sendJson } from './respond.js';
import type { Route } from './server.js';

export interface NotificationDeps {
  /** Returns why the notification cannot be sent everywhere (413), or undefined once sent. */
  notify(ns: string, data: string): string | undefined;
  describeNodes(): ClusterReport;
}

export const NOTIFICATION_USAGE = 'expected /{namespace}/{service}/{message}';

export function nodesRoutes(deps: Pick<NotificationDeps, 'describeNodes'>): Route[] {
  return ['nodes', 'peers'].map((name) => ({ pattern: ['api', name], handle: ({ res }) => sendJson(res, deps.describeNodes()) }));
}

/** Last in the table: it takes any three segments (not under /api/: the server keeps those for the API). */
export function notificationRoute(deps: Pick<NotificationDeps, 'notify'>): Route {
  return {
    pattern: [':ns', ':service', ':message'],
    // A GET that acts: an <img> on another site must not send it.
    changes: true,
    handle({ res, params }) {
      if (params.service === '') return answer(res, 404, NOTIFICATION_USAGE);
      const ns = decodeName(params.ns!);
      if (!ns.ok) return answer(res, 400, ns.reason);
      const refused = deps.notify(ns.name, `${params.service}=${params.message}`);
      if (refused !== undefined) return answer(res, 413, refused);
      answer(res, 200);
    },
  };
}
