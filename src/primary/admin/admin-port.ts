// The admin port's route table: the reports and /api/peers first, the 2.x notification route (any three
// segments) last. So `/api/attendance/{ns}` is a report, never a notification to a namespace named `api`.
import type { Server } from 'node:http';
import type { AttendanceReports } from '../../attendance/reports/attendance-reports.js';
import { attendanceRoutes } from './attendance-routes.js';
import { NOTIFICATION_USAGE, notificationRoute, peersRoute, type NotificationDeps } from './notification-routes.js';
import { createAdminServer } from './server.js';

export interface AdminPortDeps extends NotificationDeps {
  adminToken: string | undefined;
  /** undefined when the attendance log is off */
  reports: AttendanceReports | undefined;
}

export function createAdminPort(deps: AdminPortDeps): Server {
  return createAdminServer([peersRoute(deps), ...attendanceRoutes(deps.reports), notificationRoute(deps)], deps.adminToken, NOTIFICATION_USAGE);
}
