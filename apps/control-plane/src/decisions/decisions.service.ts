import { Injectable } from '@nestjs/common';
import {
  StepgateError,
  type DecisionStats,
  type DecisionTimeline,
  type DecisionTimelineQuery,
  type DecisionView,
  type DecisionsQuery,
  type TimeRangeQuery,
} from '@stepgate/protocol';
import { encodeCursor } from '../common/keyset-cursor.js';
import { decisionView, decisionWhere, timeWindow } from './decision-query.js';
import { timelinePlan, timelineView } from './decision-timeline.js';
import { DecisionsRepository } from './decisions.repository.js';

/** Reads the decision log: filtered listings, one decision, summary counts, a timeline. */
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

  /** One decision with everything its record holds. */
  async get(id: string): Promise<DecisionView> {
    const row = await this.repository.find(id);
    if (!row) throw new StepgateError('decision/not_found', `no decision with id "${id}"`);
    return decisionView(row);
  }

  /** Counts by time bucket and effect, every bucket of the window included. */
  async timeline(query: DecisionTimelineQuery): Promise<DecisionTimeline> {
    const plan = timelinePlan(query);
    return timelineView(plan, await this.repository.timeline(plan));
  }

  /** Counts of the window, exact, from the roll-ups and the log at the window's edges. */
  async stats(query: TimeRangeQuery): Promise<DecisionStats> {
    const { from, to } = timeWindow(query);
    const window = { from, to };
    const [counts, denied, steppedUp, denyRules, stepUpRules] = await Promise.all([
      this.repository.effectCounts(window),
      this.repository.topPrincipals(window, 'deny'),
      this.repository.topPrincipals(window, 'step_up'),
      this.repository.topRules(window, 'deny'),
      this.repository.topRules(window, 'step_up'),
    ]);
    const byEffect = { allow: 0, deny: 0, step_up: 0 };
    const byFailReason = new Map<string, number>();
    for (const row of counts) {
      byEffect[row.effect] += row.count;
      if (row.failReason !== '')
        byFailReason.set(row.failReason, (byFailReason.get(row.failReason) ?? 0) + row.count);
    }
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      total: byEffect.allow + byEffect.deny + byEffect.step_up,
      byEffect,
      byFailReason: [...byFailReason]
        .map(([reason, count]) => ({ reason, count }))
        .sort((a, b) => b.count - a.count),
      topDeniedPrincipals: denied,
      topSteppedUpPrincipals: steppedUp,
      topDenyRules: denyRules,
      topStepUpRules: stepUpRules,
    };
  }
}
