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
