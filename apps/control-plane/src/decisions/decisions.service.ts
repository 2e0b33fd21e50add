import { Injectable } from '@nestjs/common';
import type {
  DecisionStats,
  DecisionView,
  DecisionsQuery,
  TimeRangeQuery,
} from '@stepgate/protocol';
import { decisionView, decisionWhere, encodeCursor, timeWindow } from './decision-query.js';
import { DecisionsRepository } from './decisions.repository.js';

/** Reads the decision log: filtered listings and summary counts. */
@Injectable()
export class DecisionsService {
  constructor(private readonly repository: DecisionsRepository) {}

  /** Newest first; `nextCursor` continues with older rows (stable under concurrent inserts). */
  async list(
    query: DecisionsQuery,
  ): Promise<{ decisions: DecisionView[]; nextCursor: string | null }> {
    const rows = await this.repository.list(decisionWhere(query), query.limit + 1);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      decisions: page.map(decisionView),
      nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null,
    };
  }

  async stats(query: TimeRangeQuery): Promise<DecisionStats> {
    const { from, to } = timeWindow(query);
    const window = { from, to };
    const [{ byEffect, byFail, denied, steppedUp }, denyRules, stepUpRules] = await Promise.all([
      this.repository.summary(window),
      this.repository.topRules(window, 'deny'),
      this.repository.topRules(window, 'step_up'),
    ]);
    const counts = { allow: 0, deny: 0, step_up: 0 };
    for (const row of byEffect) counts[row.effect] = row._count._all;
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      total: counts.allow + counts.deny + counts.step_up,
      byEffect: counts,
      byFailReason: byFail
        .map((row) => ({ reason: row.failReason ?? '', count: row._count._all }))
        .sort((a, b) => b.count - a.count),
      topDeniedPrincipals: denied.map((row) => ({
        principal: row.principal,
        count: row._count._all,
      })),
      topSteppedUpPrincipals: steppedUp.map((row) => ({
        principal: row.principal,
        count: row._count._all,
      })),
      topDenyRules: denyRules,
      topStepUpRules: stepUpRules,
    };
  }
}
