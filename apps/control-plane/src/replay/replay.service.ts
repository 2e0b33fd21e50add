import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import {
  MAX_REPLAY_WINDOW_DAYS,
  StepgateError,
  type LocalReplayRequest,
  type Replay,
  type ReplayFilter,
  type ReplayRequest,
  type ReplayResult,
  type ReplayStarted,
  type ReplayStatus,
} from '@stepgate/protocol';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { AuditService } from '../audit/audit.service.js';
import { redisErrorLogger } from '../common/redis-error-log.js';
import { LOGGER } from '../logging/logger.js';
import { VersionsService } from '../versions/versions.service.js';
import { checkLocalPolicySet } from './local-policy-set.js';
import { REPLAY_QUEUE, replayJobId, type ReplayJobs } from './replay.queue.js';
import { ReplayRepository, type ReplayRecord } from './replay.repository.js';

const DEFAULT_EXAMPLES = 5;
const ENQUEUE_TIMEOUT_MS = 2000;
const DAY_MS = 24 * 3600 * 1000;

/** Starts, reads and cancels replays; the job itself is ReplayRunnerService. */
@Injectable()
export class ReplayService {
  constructor(
    @InjectQueue(REPLAY_QUEUE) private readonly queue: Queue<ReplayJobs['replay'], void, string>,
    private readonly replays: ReplayRepository,
    private readonly versions: VersionsService,
    private readonly audit: AuditService,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.queue.on('error', redisErrorLogger(logger, 'replay queue'));
  }

  /** Queues a replay of version `ref` over the window (a ready version only). */
  async start(ref: string, request: ReplayRequest, actor: string): Promise<ReplayStarted> {
    const version = await this.versions.resolve(ref);
    if (version.status !== 'ready' || version.policySet === null)
      throw new StepgateError(
        'version/not_ready',
        `version ${version.number} is ${version.status}: only a ready version can be replayed`,
      );
    const { since, until, filter } = windowOf(request);
    const replay = await this.replays.create({
      versionId: version.id,
      versionNumber: version.number,
      versionSha: version.sha,
      since,
      until,
      filter,
      examples: request.examples ?? DEFAULT_EXAMPLES,
      requestedBy: actor,
    });
    await this.audit.record({
      actor,
      action: 'replay.start',
      target: `versions/${version.number}`,
      details: {
        replayId: replay.id,
        since: since.toISOString(),
        until: until.toISOString(),
        filter,
      },
    });
    return this.queued(replay.id);
  }

  /**
   * Queues a replay of a policy set the caller compiled (`stepgate replay <dir>`). The set is
   * kept with the replay row in PostgreSQL (not in the Redis job), is only evaluated by the
   * replay job, and never becomes a version nor reaches an agent.
   */
  async startLocal(request: LocalReplayRequest, actor: string): Promise<ReplayStarted> {
    const policySet = checkLocalPolicySet(request.policySet);
    const { since, until, filter } = windowOf(request);
    const replay = await this.replays.create({
      versionId: null,
      versionNumber: null,
      versionSha: null,
      policySet,
      since,
      until,
      filter,
      examples: request.examples ?? DEFAULT_EXAMPLES,
      requestedBy: actor,
    });
    await this.audit.record({
      actor,
      action: 'replay.start',
      target: `replays/${replay.id}`,
      details: {
        replayId: replay.id,
        local: true,
        policies: policySet.policies.map((policy) => policy.name),
        since: since.toISOString(),
        until: until.toISOString(),
        filter,
      },
    });
    return this.queued(replay.id);
  }

  private async queued(replayId: string): Promise<ReplayStarted> {
    const replay = { id: replayId };
    try {
      await this.enqueue(replay.id);
    } catch (error) {
      await this.replays.finish(replay.id, 'failed', 0, null, (error as Error).message);
      throw error;
    }
    return { id: replay.id, status: 'queued' };
  }

  async get(id: string): Promise<Replay> {
    return view(await this.find(id));
  }

  /** Cancels a queued or running replay (a running one stops after its current page). */
  async cancel(id: string, actor: string): Promise<Replay> {
    await this.find(id);
    if (await this.replays.cancel(id)) {
      // A job not yet started is dropped; a running one notices at its next page.
      await this.queue.remove(replayJobId(id)).catch(() => 0);
      await this.audit.record({ actor, action: 'replay.cancel', target: `replays/${id}` });
    }
    return this.get(id);
  }

  private async find(id: string): Promise<ReplayRecord> {
    const row = /^[0-9a-f-]{36}$/i.test(id) ? await this.replays.get(id.toLowerCase()) : null;
    if (row === null) throw new StepgateError('replay/not_found', `no replay ${id}`);
    return row;
  }

  private async enqueue(replayId: string): Promise<void> {
    const added = this.queue.add(
      'replay',
      { replayId },
      {
        jobId: replayJobId(replayId),
        attempts: 2,
        backoff: { type: 'fixed', delay: 1000 },
        removeOnComplete: { age: 3600, count: 1000 },
        removeOnFail: { age: 24 * 3600 },
      },
    );
    added.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new StepgateError('service/unavailable', 'the job queue (Redis) is unavailable; retry'),
          ),
        ENQUEUE_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([added, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The window of a request: until defaults to now; at most MAX_REPLAY_WINDOW_DAYS long. */
function windowOf(request: { since: string; until?: string; filter?: ReplayFilter }): {
  since: Date;
  until: Date;
  filter: ReplayFilter;
} {
  const since = new Date(request.since);
  const until = request.until === undefined ? new Date() : new Date(request.until);
  if (since >= until)
    throw new StepgateError(
      'request/invalid',
      'since must be before until (and not in the future)',
    );
  if (until.getTime() - since.getTime() > MAX_REPLAY_WINDOW_DAYS * DAY_MS)
    throw new StepgateError(
      'request/invalid',
      `the window may cover at most ${MAX_REPLAY_WINDOW_DAYS} days; narrow since/until`,
    );
  return { since, until, filter: request.filter ?? {} };
}

function view(row: ReplayRecord): Replay {
  return {
    id: row.id,
    status: row.status as ReplayStatus,
    version:
      row.versionId === null || row.versionNumber === null || row.versionSha === null
        ? null
        : { id: row.versionId, number: row.versionNumber, sha: row.versionSha },
    since: row.since.toISOString(),
    until: row.until.toISOString(),
    filter: row.filter as ReplayFilter,
    requestedBy: row.requestedBy,
    progress: { read: row.read, estimatedTotal: row.estimatedTotal },
    result: (row.result as ReplayResult | null) ?? null,
    error: row.error,
    createdAt: row.createdAt.toISOString(),
    startedAt: row.startedAt?.toISOString() ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}
