import { Injectable } from '@nestjs/common';
import type {
  DecisionStats,
  DecisionView,
  DecisionsQuery,
  TimeRangeQuery,
} from '@stepgate/protocol';
import { PrismaService } from '../database/prisma.service.js';
import { decisionView, decisionWhere, encodeCursor, timeWindow } from './decision-query.js';

const TOP = 10;

/** Reads the decision log: filtered listings and summary counts. */
@Injectable()
export class DecisionsService {
  constructor(private readonly prisma: PrismaService) {}

  /** Newest first; `nextCursor` continues with older rows (stable under concurrent inserts). */
  async list(
    query: DecisionsQuery,
  ): Promise<{ decisions: DecisionView[]; nextCursor: string | null }> {
    const rows = await this.prisma.decisionLog.findMany({
      where: decisionWhere(query),
      orderBy: [{ at: 'desc' }, { id: 'desc' }],
      take: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      decisions: page.map(decisionView),
      nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null,
    };
  }

  async stats(query: TimeRangeQuery): Promise<DecisionStats> {
    const { from, to } = timeWindow(query);
    const inWindow = { at: { gte: from, lt: to } };
    const topPrincipals = (effect: 'deny' | 'step_up') =>
      this.prisma.decisionLog.groupBy({
        by: ['principal'],
        where: { ...inWindow, effect },
        _count: { _all: true },
        orderBy: [{ _count: { principal: 'desc' } }, { principal: 'asc' }],
        take: TOP,
      });
    const [byEffect, byFail, denied, steppedUp, denyRules, stepUpRules] = await Promise.all([
      this.prisma.decisionLog.groupBy({ by: ['effect'], where: inWindow, _count: { _all: true } }),
      this.prisma.decisionLog.groupBy({
        by: ['failReason'],
        where: { ...inWindow, failReason: { not: null } },
        _count: { _all: true },
      }),
      topPrincipals('deny'),
      topPrincipals('step_up'),
      this.topRules(from, to, 'deny'),
      this.topRules(from, to, 'step_up'),
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

  /** The rules of `effect` that matched in decisions with that effect, most frequent first. */
  private async topRules(
    from: Date,
    to: Date,
    effect: 'deny' | 'step_up',
  ): Promise<{ rule: string; count: number }[]> {
    const rows = await this.prisma.$queryRaw<{ rule: string; count: number }[]>`
      SELECT (r->>'policy') || '/' || (r->>'rule') AS rule, count(DISTINCT d.id)::int AS count
      FROM decision_log d CROSS JOIN LATERAL jsonb_array_elements(d.reasons) AS r
      WHERE d.at >= ${from} AND d.at < ${to}
        AND d.effect = ${effect}::decision_effect AND r->>'effect' = ${effect}
      GROUP BY 1
      ORDER BY 2 DESC, 1
      LIMIT ${TOP}`;
    return rows.map((row) => ({ rule: row.rule, count: Number(row.count) }));
  }
}
