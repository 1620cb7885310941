// Session events as a worker reports them, for tests that drive the attendance log directly.
import type { SessionEntry } from '../../src/protocol/sessions.js';

export const T0 = Date.UTC(2024, 5, 1, 12, 0, 0);
let seq = 0;

/** A session entry with unique ids, alice's by default, at T0. */
export function entry(over: Partial<SessionEntry> = {}): SessionEntry {
  seq++;
  return {
    session: `s${seq}-${Math.random().toString(36).slice(2)}`, connection: `c${seq}`, ns: 'conf', user: 'alice', name: 'Alice',
    at: T0, page: '/live', browser: 'Chrome 120', os: 'Linux', device: 'desktop', ip: '203.0.113.77', transport: 'sse', ...over,
  };
}
