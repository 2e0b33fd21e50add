/** The data-source queue: its name, job names and payloads in one typed map. */
export const DATA_SOURCE_QUEUE = 'data-source-poll';

export interface DataSourceJobs {
  /** One fetch of the source feeding live data document `name` (its settings are read when it runs). */
  poll: { name: string };
}

export type DataSourceJobName = keyof DataSourceJobs;
export const DATA_SOURCE_JOB_NAMES: readonly DataSourceJobName[] = ['poll'];

/** Job scheduler ids are `data-source.<document>`: one scheduler, so one poller, per source. */
export const SCHEDULER_PREFIX = 'data-source.';

export const schedulerId = (name: string): string => `${SCHEDULER_PREFIX}${name}`;
