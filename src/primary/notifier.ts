// When to push a namespace's count to its viewers, exactly as Audience Meter 2.x decided it: checked every
// --notify-min-delay seconds; pushed when the change since the last push reaches
// max(1, floor(last pushed × --notify-delta-ratio)), or when --notify-max-delay seconds have passed since it.
import type { CountEntry } from '../protocol/ipc.js';
import type { NamespaceRecord, RecordVisits } from './audience-table.js';

export interface NotifyPolicy {
  deltaRatio: number;
  /** ms */
  maxDelay: number;
}

export function shouldPush(record: NamespaceRecord, now: number, policy: NotifyPolicy): boolean {
  // Nobody is left to tell (2.x skipped empty namespaces too).
  if (record.members === 0) return false;
  if (now - record.modified >= policy.maxDelay) return true;
  const minDelta = Math.max(1, Math.floor(record.lastPushed * policy.deltaRatio));
  return Math.abs(record.members - record.lastPushed) >= minDelta;
}

/**
 * Runs one check over every namespace and returns the pushes to send; the table records them as pushed
 * (AudienceTable.pushed): the records are read-only (the table's are views over its rows, valid during the
 * visit only), so nothing here keeps or writes one.
 */
export function collectPushes(records: RecordVisits<NamespaceRecord>, now: number, policy: NotifyPolicy): CountEntry[] {
  const pushes: CountEntry[] = [];
  records.forEach((record) => {
    if (shouldPush(record, now, policy)) pushes.push([record.name, record.members]);
  });
  return pushes;
}
