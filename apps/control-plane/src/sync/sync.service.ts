import { Inject, Injectable } from '@nestjs/common';
import type { CompiledPolicySet } from '@stepgate/policy';
import { StepgateError, type ActivationHeld } from '@stepgate/protocol';
import * as fs from 'node:fs';
import type { Logger } from 'pino';
import { AuditService } from '../audit/audit.service.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { GitPolicyReader } from '../git/policy-repository.js';
import { fetchRemote } from '../git/remote-fetcher.js';
import { sourceRepositoryDir } from '../git/source-repository-dir.js';
import { EmbeddedRepositoryService } from '../git/embedded-repository.service.js';
import { LOGGER } from '../logging/logger.js';
import { SourcesService } from '../sources/sources.service.js';
import { protectionChanged } from '../step-up/protection-policies.js';
import { SelfProtectionService } from '../step-up/self-protection.service.js';
import { ActivationService } from '../versions/activation.service.js';
import { CommitVerdictService } from './commit-verdict.service.js';
import { SyncReplayService } from './sync-replay.service.js';
import { SyncMetrics } from './sync.metrics.js';
import { LiveStateRepository } from '../live-state/live-state.repository.js';
import { SyncRepository } from './sync.repository.js';

export interface SyncOutcome {
  sourceId: string;
  headSha: string | undefined;
  created: { number: number; sha: string; status: 'ready' | 'failed' }[];
  forcePush: boolean;
  activated?: number;
  /**
   * The ready head was not auto-activated: it changes the self-protection policies (it waits for
   * a protected activation), or the activation gate holds it (`gate` says why).
   */
  held?: number;
  gate?: ActivationHeld;
}

/** A fingerprint no policy set has: when the active one cannot be read, every version waits. */
const UNKNOWN_PROTECTION = 'unknown';

/**
 * One sync of one source: fetch, turn every new commit into a version (compiled, tested,
 * sized), record where the source now stands, and auto-activate the head when it is ready,
 * unless it changes the policies protecting the control plane itself: such a version waits for
 * an activation, which those (still active) policies protect. Every version records who pushed
 * it. Safe to run twice for the same commits: versions are unique per (source, sha).
 */
@Injectable()
export class SyncService {
  constructor(
    private readonly repository: SyncRepository,
    private readonly liveState: LiveStateRepository,
    private readonly verdicts: CommitVerdictService,
    private readonly sources: SourcesService,
    private readonly embedded: EmbeddedRepositoryService,
    private readonly activation: ActivationService,
    private readonly protection: SelfProtectionService,
    private readonly audit: AuditService,
    private readonly metrics: SyncMetrics,
    private readonly syncReplays: SyncReplayService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** `pushedBy`: who caused this sync (see SyncJobs), recorded on every version it creates. */
  async sync(sourceId: string, pushedBy: string): Promise<SyncOutcome> {
    const stop = this.metrics.startTimer();
    try {
      const outcome = await this.run(sourceId, pushedBy);
      stop('ok');
      return outcome;
    } catch (error) {
      stop('error');
      const message = (error as Error).message.split('\n')[0] ?? 'sync failed';
      await this.repository.recordSyncError(sourceId, message).catch(() => undefined);
      throw error;
    }
  }

  private async run(sourceId: string, pushedBy: string): Promise<SyncOutcome> {
    const source = await this.repository.source(sourceId);
    if (!source) throw new StepgateError('source/not_found', `no policy source ${sourceId}`);

    const dir = sourceRepositoryDir(source, this.embedded.dir, this.config.dataDir);
    if (source.kind !== 'embedded') {
      const credentials = this.sources.credentialsOf(source);
      await fetchRemote({
        url: source.url as string,
        branch: source.branch,
        cacheDir: dir,
        addresses: this.config.outbound,
        ...(credentials ? { credentials } : {}),
      });
    }

    const reader = new GitPolicyReader({ dir, fs });
    const headSha = await reader.resolveBranch(source.branch);
    const outcome: SyncOutcome = { sourceId, headSha, created: [], forcePush: false };
    if (!headSha) {
      await this.repository.recordSyncError(sourceId, `branch ${source.branch} has no commits`);
      return outcome;
    }
    const { commits, forcePush } = await reader.listNewCommits(
      source.branch,
      source.lastSyncedSha ?? undefined,
    );
    outcome.forcePush = forcePush;
    const activeProtection = await this.activeProtection();

    for (const commit of commits) {
      if (await this.repository.version(sourceId, commit.sha)) continue;
      // The verdict the pusher was shown, when this commit was pushed here (computed once).
      const built = await this.verdicts.verdictOf({ dir, sha: commit.sha, path: source.path });
      const created = await this.repository.recordVersion({
        sourceId,
        sha: commit.sha,
        branch: source.branch,
        author: commit.author,
        authorEmail: commit.authorEmail,
        message: commit.message,
        committedAt: commit.committedAt,
        status: built.status,
        errors: built.errors as object[],
        ...(built.testReport ? { testReport: built.testReport as unknown as object } : {}),
        ...(built.policySet ? { policySet: built.policySet as object } : {}),
        bundleHash: built.bundleHash,
        size: built.size,
        forcePush: forcePush && commit === commits[0],
        pushedBy,
        protectionChanged: protectionChanged(built.policySet, activeProtection),
      });
      if (created) {
        outcome.created.push({ number: created.number, sha: created.sha, status: built.status });
        this.logger.info(
          {
            sourceId,
            version: created.number,
            sha: created.sha,
            status: built.status,
            errors: built.errors.length,
          },
          'recorded policy version',
        );
        // Its impact on the last 24 h of decisions, in the background (the replay queue).
        if (built.status === 'ready') await this.syncReplays.start(created);
      }
    }

    // Only a head this sync brought in is auto-activated: re-syncing must never undo a rollback
    // by re-activating a head an operator moved away from. "Brought in" includes a head whose
    // version a crashed sync recorded without activating it (the source pointer had not moved
    // yet and the version was never activated), so a kill -9 mid-sync cannot strand a push.
    // The pointer moves only after the activation, closing that window from the other side.
    if (source.lastSyncedSha !== headSha && source.autoActivate && this.config.autoActivate) {
      const head = await this.repository.version(sourceId, headSha);
      const headIsNew = outcome.created.some((version) => version.sha === headSha);
      const neverActivated =
        head !== null && !headIsNew && !(await this.liveState.everActivated(head.id));
      if (head?.status === 'ready' && (headIsNew || neverActivated)) {
        // Compared with what is active now (not when it was recorded): that is what it replaces.
        const held = protectionChanged(
          head.policySet as unknown as CompiledPolicySet,
          await this.activeProtection(),
        );
        // Only after that check: a protection change waits for an operator whatever its impact.
        const gated = held ? null : await this.syncReplays.gate(head);
        if (held) {
          await this.hold(head, source, pushedBy);
          outcome.held = head.number;
        } else if (gated) {
          await this.holdByGate(head, source, pushedBy, gated);
          outcome.held = head.number;
          outcome.gate = gated;
        } else {
          const result = await this.activation.activate(
            head.id,
            pushedBy,
            `auto-activate ${headSha.slice(0, 7)} on ${source.branch} (source ${source.name}, pushed by ${pushedBy})`,
          );
          if (result.changed) outcome.activated = head.number;
        }
      }
    }
    await this.repository.recordSynced(sourceId, headSha);
    await this.metrics.refreshVersionGauges();
    return outcome;
  }

  /** The active protection fingerprint; unknown (so every version waits) when unreadable. */
  private async activeProtection(): Promise<string> {
    try {
      return await this.protection.activeProtection();
    } catch (error) {
      this.logger.error(
        { error: (error as Error).message },
        'cannot read the active self-protection policies; new versions wait for an activation',
      );
      return UNKNOWN_PROTECTION;
    }
  }

  /** Leaves a head the activation gate holds ready but inactive, and says why (audited). */
  private async holdByGate(
    head: { id: string; number: number; sha: string },
    source: { name: string; branch: string },
    pushedBy: string,
    held: ActivationHeld,
  ): Promise<void> {
    await this.audit.record({
      actor: pushedBy,
      action: 'version.activation_held',
      target: head.id,
      reason: `activation gate: ${held.reason}`,
      details: {
        version: head.number,
        sha: head.sha,
        source: source.name,
        branch: source.branch,
        gate: held,
      },
    });
    this.logger.warn(
      { version: head.number, sha: head.sha, pushedBy, ...held },
      `version ${head.number} held by the activation gate (${held.reason}); activate it with a reason (stepgate activate ${head.number} --reason ...)`,
    );
  }

  /** Leaves a protection-changing head ready but inactive, and says so in the audit log. */
  private async hold(
    head: { id: string; number: number; sha: string; protectionChanged: boolean },
    source: { name: string; branch: string },
    pushedBy: string,
  ): Promise<void> {
    if (!head.protectionChanged) {
      // Recorded against an older active version; it changes what is active now.
      await this.repository.markProtectionChanged(head.id);
    }
    await this.audit.record({
      actor: pushedBy,
      action: 'version.activation_held',
      target: head.id,
      reason: 'changes the policies protecting the control plane (stepgate:* actions)',
      details: { version: head.number, sha: head.sha, source: source.name, branch: source.branch },
    });
    this.logger.warn(
      { version: head.number, sha: head.sha, pushedBy },
      `version ${head.number} changes the self-protection policies: not auto-activated; activate it with a step-up (stepgate activate ${head.number} --reason ...)`,
    );
  }
}
