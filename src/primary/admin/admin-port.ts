// The admin port's route table: the cluster transport's own routes (multicast answers the other nodes over
// HTTP), the admin page, /metrics, the live API and the messages, the reports and /api/nodes first, the 2.x
// notification route (any three segments but under /api/) last. So `/api/attendance/{ns}` is a report, never a notification
// to a namespace named `api`.
import type { Server } from 'node:http';
import type { AttendanceReports } from '../../attendance/reports/attendance-reports.js';
import type { Cluster } from '../cluster/cluster.js';
import type { Monitor } from '../monitor.js';
import { apiRoutes, memoryHistoryRoute, type ApiDeps } from './api-routes.js';
import { attendanceRoutes } from './attendance-routes.js';
import { messageRoutes } from './message-routes.js';
import { nodeAdmin } from './node-admin.js';
import { NOTIFICATION_USAGE, notificationRoute, nodesRoutes, type NotificationDeps } from './notification-routes.js';
import { adminPageRoutes, metricsRoute } from './page-routes.js';
import { createAdminServer, type AdminServerSettings, type Route } from './server.js';

export interface AdminPortDeps extends Omit<NotificationDeps, 'describeNodes'>, Pick<ApiDeps, 'table' | 'usersIn'>, AdminServerSettings {
  /** undefined when the attendance log is off */
  reports: AttendanceReports | undefined;
  monitor: Monitor;
  cluster: Cluster;
}

export function createAdminPort(deps: AdminPortDeps): Server {
  const { monitor, cluster } = deps;
  const local = nodeAdmin(monitor);
  const routes: Route[] = [
    ...cluster.serve(local),
    ...adminPageRoutes(),
    metricsRoute(monitor.metrics.registry),
    ...apiRoutes({ table: deps.table, usersIn: deps.usersIn, localPage: local.page, snapshot: (ns) => monitor.snapshot(ns), feed: monitor.feed, cluster }),
    ...messageRoutes({ local, cluster }),
    ...nodesRoutes({ ...deps, describeNodes: () => cluster.describe() }),
    // With the log on, the stored samples answer /api/namespaces/{ns}/history; without it, memory does.
    ...(deps.reports ? [] : [memoryHistoryRoute(monitor.history, cluster.self)]),
    ...attendanceRoutes(deps.reports),
    notificationRoute(deps),
  ];
  return createAdminServer(routes, deps, NOTIFICATION_USAGE);
}
