import { Injectable } from '@nestjs/common';
import type { ShadowReport, ShadowReportQuery } from '@stepgate/protocol';
import { PrismaService } from '../database/prisma.service.js';
import { Prisma } from '../generated/prisma/client.js';
import { LiveStateRepository } from '../live-state/live-state.repository.js';
import { decisionView, timeWindow } from './decision-query.js';

const EXAMPLES = 10;
const RULES = 20;

type Effect = 'allow' | 'deny' | 'step_up';

/**
 * Where the shadow version disagrees with the enforced one, from the decisions agents logged
 * with a shadow evaluation: how often, between which effects, because of which rules, with
 * recent examples, so a candidate is promoted on evidence.
 */
@Injectable()
export class ShadowReportService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly liveState: LiveStateRepository,
  ) {}

  async report(query: ShadowReportQuery): Promise<ShadowReport> {
    const { from, to } = timeWindow(query);
    const compared = Prisma.sql`d.at >= ${from} AND d.at < ${to} AND d.shadow_effect IS NOT NULL${
      query.shadowRevision !== undefined
        ? Prisma.sql` AND d.shadow_revision = ${query.shadowRevision}`
        : Prisma.empty
    }`;
    const divergent = Prisma.sql`${compared} AND d.shadow_effect <> d.effect`;

    const [total, pairs, rules, exampleIds, shadow] = await Promise.all([
      this.prisma.$queryRaw<{ count: number }[]>`
        SELECT count(*)::int AS count FROM decision_log d WHERE ${compared}`,
      this.prisma.$queryRaw<{ from: Effect; to: Effect; count: number }[]>`
        SELECT d.effect::text AS "from", d.shadow_effect::text AS "to", count(*)::int AS count
        FROM decision_log d WHERE ${divergent}
        GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2`,
      // A rule "explains" a divergence when it matched (with that effect) on one side only.
      this.prisma.$queryRaw<
        { rule: string; side: 'shadow' | 'active'; effect: Effect; count: number }[]
      >`
        SELECT rule, side, effect, count(DISTINCT id)::int AS count FROM (
          SELECT d.id, (s->>'policy') || '/' || (s->>'rule') AS rule, 'shadow' AS side,
                 s->>'effect' AS effect
          FROM decision_log d
          CROSS JOIN LATERAL jsonb_array_elements(coalesce(d.shadow_reasons, '[]'::jsonb)) AS s
          WHERE ${divergent}
            AND NOT d.reasons @> jsonb_build_array(jsonb_build_object(
              'policy', s->'policy', 'rule', s->'rule', 'effect', s->'effect'))
          UNION ALL
          SELECT d.id, (a->>'policy') || '/' || (a->>'rule'), 'active', a->>'effect'
          FROM decision_log d
          CROSS JOIN LATERAL jsonb_array_elements(d.reasons) AS a
          WHERE ${divergent}
            AND NOT coalesce(d.shadow_reasons, '[]'::jsonb) @> jsonb_build_array(jsonb_build_object(
              'policy', a->'policy', 'rule', a->'rule', 'effect', a->'effect'))
        ) AS sides
        GROUP BY rule, side, effect
        ORDER BY 4 DESC, 1, 2
        LIMIT ${RULES}`,
      this.prisma.$queryRaw<{ id: string }[]>`
        SELECT d.id FROM decision_log d WHERE ${divergent}
        ORDER BY d.at DESC, d.id DESC LIMIT ${EXAMPLES}`,
      this.currentShadow(),
    ]);
    const examples = await this.prisma.decisionLog.findMany({
      where: { id: { in: exampleIds.map((row) => row.id) } },
      orderBy: [{ at: 'desc' }, { id: 'desc' }],
    });
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
    const [version, set] = await Promise.all([
      this.prisma.policyVersion.findUnique({
        where: { id: state.shadowVersionId },
        select: { number: true },
      }),
      // The last shadow change is the shadow_set of the current shadow version.
      this.liveState.lastChange('shadow'),
    ]);
    if (!version) return null;
    return { revision: set?.revision ?? state.revision, versionNumber: version.number };
  }
}
