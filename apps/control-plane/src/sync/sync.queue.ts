/** The sync queue: its name, job names and payloads in one typed map. */
export const SYNC_QUEUE = 'policy-sync';

export type SyncTrigger = 'push' | 'webhook' | 'poll' | 'manual' | 'startup';

export interface SyncJobs {
  sync: {
    sourceId: string;
    trigger: SyncTrigger;
    headSha?: string;
    /**
     * Who caused it, recorded on the versions it creates and named in their activation: the
     * authenticated pusher (`token:<name>`) or caller of a manual sync, a verified webhook's
     * pusher (`github:<login>`); absent for polls and start-up syncs (the trigger names them).
     */
    pushedBy?: string;
  };
}

/** The pusher a sync job records: its own, else its trigger (`poll`, `startup`, `webhook`). */
export function pusherOf(data: SyncJobs['sync']): string {
  return data.pushedBy ?? data.trigger;
}

export type SyncJobName = keyof SyncJobs;
export const SYNC_JOB_NAMES: readonly SyncJobName[] = ['sync'];

/**
 * Deterministic job ids de-duplicate work: the same push seen twice (hook and webhook, or a
 * redelivered webhook) is one job. BullMQ forbids ':' in custom ids.
 */
export function syncJobId(data: SyncJobs['sync'], now = Date.now()): string {
  if (data.headSha) return `sync.${data.sourceId}.${data.headSha}`;
  // Without a known head every request must run (a push may have landed since the last
  // one); an extra sync of an unchanged source finds no new commits and costs little.
  return `sync.${data.sourceId}.${data.trigger}.${now}.${Math.random().toString(36).slice(2, 8)}`;
}
