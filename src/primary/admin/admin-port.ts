// The admin port's route table: the admin page, /metrics, the live API and the messages, the reports and
// /api/peers first, the 2.x notification route (any three segments but under /api/) last.
import type { Server } from 'node:http';
import type { AttendanceReports } from '../../attendance/reports/attendance-reports.js';
import type { Monitor } from '../monitor.js';
import { apiRoutes, memoryHistoryRoute, type ApiDeps } from './api-routes.js';
import { attendanceRoutes } from './attendance-routes.js';
import { messageRoutes } from './message-routes.js';
import { NOTIFICATION_USAGE, notificationRoute, peersRoute, type NotificationDeps } from './notification-routes.js';
import { PeerAdmins } from './peer-admins.js';
import { adminPageRoutes, metricsRoute } from './page-routes.js';
import { createAdminServer, type AdminServerSettings, type Route } from './server.js';

export interface AdminPortDeps extends NotificationDeps, Pick<ApiDeps, 'table' | 'usersIn'>, AdminServerSettings {
  /** undefined when the attendance log is off */
  reports: AttendanceReports | undefined;
  monitor: Monitor;
  /** This node's id, named in the in-memory history's samples like the stored ones, and in connection ids. */
  node: string;
}

export function createAdminPort(deps: AdminPortDeps): Server {
  const { monitor } = deps;
  const peers = new PeerAdmins(deps.node, () => deps.describePeers().peers, deps.adminToken);
  const routes: Route[] = [
    ...adminPageRoutes(),
    metricsRoute(monitor.metrics.registry),
    ...apiRoutes({ table: deps.table, usersIn: deps.usersIn, connections: monitor.connections, feed: monitor.feed, peers }),
    ...messageRoutes({ connection: (id) => monitor.connections.get(id), deliver: (...args) => monitor.deliver(...args), peers }),
    peersRoute(deps),
    // With the log on, the stored samples answer /api/namespaces/{ns}/history; without it, memory does.
    ...(deps.reports ? [] : [memoryHistoryRoute(monitor.history, deps.node)]),
    ...attendanceRoutes(deps.reports),
    notificationRoute(deps),
  ];
  return createAdminServer(routes, deps, NOTIFICATION_USAGE);
}
