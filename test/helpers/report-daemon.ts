// The fixture of the report tests: a store of one kind, seeded by the test, read by a real daemon through
// its admin port with a bearer token; both are gone after the suite. Call it inside a describe().
import { after, before } from 'node:test';
import type { StoreKind, StoreUnderTest } from './attendance-stores.js';
import { startDaemon, type Daemon } from './daemon.js';
import { httpRequest } from './http.js';

export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
export const ADMIN_AUTH = { Authorization: `Bearer ${ADMIN_TOKEN}` };

export interface ReportDaemon {
  /** A GET on the admin port, with the token unless `headers` say otherwise. */
  get(path: string, headers?: Record<string, string>): ReturnType<typeof httpRequest>;
}

export function reportDaemon(kind: StoreKind, seed: (target: string) => Promise<void>): ReportDaemon {
  let store: StoreUnderTest | undefined;
  let daemon: Daemon | undefined;
  before(async () => {
    store = await kind.create();
    await seed(store.target);
    // Seeded sessions are from 2024, older than the default retention: keep them.
    daemon = await startDaemon(['--attendance', store.target, '--admin-token', ADMIN_TOKEN, '--retention-days', '0'], { workers: 1 });
  });
  after(async () => {
    await daemon?.stop();
    await store?.cleanup();
  });
  return {
    get: (path, headers = ADMIN_AUTH) => httpRequest(daemon!.notificationPort, path, { headers }),
  };
}
