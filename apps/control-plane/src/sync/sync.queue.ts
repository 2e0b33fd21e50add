/** The sync queue: its name, job names and payloads in one typed map. */
export const SYNC_QUEUE = 'policy-sync';

export type SyncTrigger = 'push' | 'webhook' | 'poll' | 'manual' | 'startup';

export interface SyncJobs {
  sync: { sourceId: string; trigger: SyncTrigger; headSha?: string };
}

export type SyncJobName = keyof SyncJobs;
export const SYNC_JOB_NAMES: readonly SyncJobName[] = ['sync'];

/**
 * Deterministic job ids de-duplicate work: the same push seen twice (hook and webhook, or a
 * redelivered webhook) is one job. BullMQ forbids ':' in custom ids.
 */
export function syncJobId(data: SyncJobs['sync'], now = Date.now()): string {
  if (data.headSha) return `sync.${data.sourceId}.${data.headSha}`;
  // Without a known head, collapse triggers of the same kind within a 10 s window.
  return `sync.${data.sourceId}.${data.trigger}.${Math.floor(now / 10_000)}`;
}
