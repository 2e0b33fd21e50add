import { Injectable } from '@nestjs/common';
import type { ShadowReport, ShadowReportQuery } from '@stepgate/protocol';
import { LiveStateRepository } from '../live-state/live-state.repository.js';
import { VersionsRepository } from '../versions/versions.repository.js';
import { decisionView, timeWindow } from './decision-query.js';
import { DecisionsRepository } from './decisions.repository.js';

/**
 * Where the shadow version disagrees with the enforced one, from the decisions agents logged
 * with a shadow evaluation: how often, between which effects, because of which rules, with
 * recent examples, so a candidate is promoted on evidence.
 */
@Injectable()
export class ShadowReportService {
  constructor(
    private readonly repository: DecisionsRepository,
    private readonly liveState: LiveStateRepository,
    private readonly versions: VersionsRepository,
  ) {}

  async report(query: ShadowReportQuery): Promise<ShadowReport> {
    const { from, to } = timeWindow(query);
    const [{ total, pairs, rules, examples }, shadow] = await Promise.all([
      this.repository.shadowComparison({ from, to }, query.shadowRevision),
      this.currentShadow(),
    ]);
    const byEffect = pairs.map((row) => ({ from: row.from, to: row.to, count: Number(row.count) }));
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      shadow,
      compared: Number(total[0]?.count ?? 0),
      divergent: byEffect.reduce((sum, row) => sum + row.count, 0),
      byEffect,
      byRule: rules.map((row) => ({ ...row, count: Number(row.count) })),
      examples: examples.map(decisionView),
    };
  }

  private async currentShadow(): Promise<ShadowReport['shadow']> {
    const state = await this.liveState.current();
    if (!state.shadowVersionId) return null;
    const [[number], set] = await Promise.all([
      this.versions.numbers({ id: state.shadowVersionId }, 1),
      // The last shadow change is the shadow_set of the current shadow version.
      this.liveState.lastChange('shadow'),
    ]);
    if (number === undefined) return null;
    return { revision: set?.revision ?? state.revision, versionNumber: number };
  }
}
