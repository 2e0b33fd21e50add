/** The replay queue: its name, job names and payloads in one typed map. */
export const REPLAY_QUEUE = 'replay';

export interface ReplayJobs {
  replay: { replayId: string };
}

export type ReplayJobName = keyof ReplayJobs;
export const REPLAY_JOB_NAMES: readonly ReplayJobName[] = ['replay'];

/** One job per replay: enqueuing the same replay twice is one job (BullMQ forbids ':'). */
export function replayJobId(replayId: string): string {
  return `replay.${replayId}`;
}
