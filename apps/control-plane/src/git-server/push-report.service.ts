import { Injectable } from '@nestjs/common';
import { DEFAULT_SOURCE_ID, SourcesService } from '../sources/sources.service.js';
import { SelfProtectionService } from '../step-up/self-protection.service.js';
import { CommitVerdictService } from '../sync/commit-verdict.service.js';
import { EmbeddedRepositoryService } from '../git/embedded-repository.service.js';
import { VersionsService } from '../versions/versions.service.js';
import { impactLines, type PushImpact } from './push-impact.js';
import { triageRefUpdate, verdictLines, type RefUpdate } from './push-report.js';

/**
 * How long after the verdict the report waits for the pushed version's replay: well inside the
 * hook's 50 s (post-receive-report.ts), which the verdict shares; later, a command to see it.
 */
export const IMPACT_WAIT_MS = 20_000;
const POLL_MS = 250;

/** What the pusher is told, and which pushed commits the sync should record. */
export interface PushReport {
  lines: string[];
  /** The commits pushed to the tracked branch, in push order (what the sync is asked for). */
  pushed: string[];
  /** The last pushed commit whose verdict is ready: the version whose impact is reported. */
  ready?: string;
}

/**
 * The verdict a pusher sees on the embedded repository: for a push to the branch the default
 * source tracks (whatever it is called), the CommitVerdictService's verdict on the pushed
 * commit, which is also the one the sync records for it.
 */
@Injectable()
export class PushReportService {
  constructor(
    private readonly sources: SourcesService,
    private readonly repository: EmbeddedRepositoryService,
    private readonly verdicts: CommitVerdictService,
    private readonly protection: SelfProtectionService,
    private readonly versions: VersionsService,
  ) {}

  async report(updates: RefUpdate[]): Promise<PushReport> {
    const source = await this.sources.get(DEFAULT_SOURCE_ID);
    if (source.kind !== 'embedded')
      return {
        lines: [
          'stepgate: the control plane syncs its policies from another repository; not checked',
        ],
        pushed: [],
      };
    const activeProtection = await this.protection.activeProtection().catch(() => undefined);
    const report: PushReport = { lines: [], pushed: [] };
    for (const update of updates) {
      const triaged = triageRefUpdate(update, source.branch);
      if (typeof triaged !== 'string') {
        report.lines.push(...triaged);
        continue;
      }
      report.pushed.push(triaged);
      const verdict = await this.verdicts.verdictOf({
        dir: this.repository.dir,
        sha: triaged,
        path: source.path,
      });
      report.lines.push(...verdictLines(triaged.slice(0, 7), verdict, activeProtection));
      if (verdict.status === 'ready') report.ready = triaged;
    }
    return report;
  }

  /**
   * The impact lines of the report's ready commit: its replay's changes if the sync records it
   * and the replay ends before `deadline` (epoch ms), else the command to see them. Never waits
   * past the deadline; nothing when no pushed commit is ready.
   */
  async impact(report: PushReport, deadline: number): Promise<string[]> {
    const sha = report.ready;
    if (sha === undefined) return [];
    let impact: PushImpact = { replay: null, activationHeld: null };
    for (;;) {
      impact = await this.impactOf(sha);
      const status = impact.replay?.status;
      if (status !== undefined && status !== 'queued' && status !== 'running') break;
      if (Date.now() + POLL_MS >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    return impactLines(sha.slice(0, 7), impact);
  }

  private async impactOf(sha: string): Promise<PushImpact> {
    const version = await this.versions.resolve(sha).catch(() => undefined);
    if (!version) return { replay: null, activationHeld: null };
    return { version: version.number, ...(await this.versions.impact(version)) };
  }
}
