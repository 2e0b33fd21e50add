import type { DecisionRecord } from '@stepgate/protocol';

/** The decision-log queue: its name, job names and payloads in one typed map. */
export const DECISION_LOGS_QUEUE = 'decision-logs';

export interface DecisionLogJobs {
  /** One batch an agent shipped, already validated at the gateway. */
  ingest: {
    agentId: string;
    batchId: string;
    records: DecisionRecord[];
    /** Records the agent dropped (buffer full) before this batch. */
    dropped: number;
    receivedAt: string;
  };
  /** Deletes decisions older than the retention period. */
  prune: Record<string, never>;
}

export type DecisionLogJobName = keyof DecisionLogJobs;
export const DECISION_LOG_JOB_NAMES: readonly DecisionLogJobName[] = ['ingest', 'prune'];

/** The repeatable retention job's scheduler id (one per deployment, whatever the replica count). */
export const RETENTION_SCHEDULER_ID = 'decision-retention';

/**
 * `<agentId>.<batchId>`: a batch the agent re-sends (its ack was lost) is the same job, so it is
 * queued once. Both parts are escaped so the id is unambiguous (agent ids may contain '.') and
 * free of ':' (BullMQ refuses it in custom ids).
 */
export function decisionLogJobId(agentId: string, batchId: string): string {
  const escape = (text: string) =>
    text.replace(/%/g, '%25').replace(/\./g, '%2E').replace(/:/g, '%3A');
  return `${escape(agentId)}.${escape(batchId)}`;
}
