import { Injectable } from '@nestjs/common';
import { DEFAULT_SOURCE_ID, SourcesService } from '../sources/sources.service.js';
import { SelfProtectionService } from '../step-up/self-protection.service.js';
import { CommitVerdictService } from '../sync/commit-verdict.service.js';
import { EmbeddedRepositoryService } from '../git/embedded-repository.service.js';
import { triageRefUpdate, verdictLines, type RefUpdate } from './push-report.js';

/** What the pusher is told, and which pushed commits the sync should record. */
export interface PushReport {
  lines: string[];
  /** The commits pushed to the tracked branch, in push order (what the sync is asked for). */
  pushed: string[];
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
    }
    return report;
  }
}
