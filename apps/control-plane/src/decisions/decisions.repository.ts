import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import { Prisma, type DecisionLog } from '../generated/prisma/client.js';
import {
  effectCountsQuery,
  topPrincipalsQuery,
  topRulesQuery,
  type Effect,
  type EffectCountRow,
  type TopRow,
} from './decision-stats-queries.js';
import { timelineQuery, type TimelinePlan, type TimelineRow } from './decision-timeline.js';

const EXAMPLES = 10;
const RULES = 20;

type Window = { from: Date; to: Date };
export type EffectCount = { effect: Effect; failReason: string; count: number };

/** The decision log table: ingest, retention, listings, summaries and the shadow comparison. */
@Injectable()
export class DecisionsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Rows (of one batch or many) in one statement with one parameter (the rows as JSON), expanded by
   * PostgreSQL: Prisma's createMany builds and checks every field of every row in JavaScript,
   * which capped ingest at a few thousand records/s of control-plane CPU (bench/ingest.bench.js).
   */
  async insertRows(rows: Record<string, unknown>[]): Promise<number> {
    return this.prisma.$executeRaw`
      INSERT INTO decision_log (id, at, agent_id, revision, effect, fail_reason, principal, action,
                                resource_kind, resource_id, require, reasons, shadow_effect,
                                shadow_revision, shadow_reasons, data_revision, signals, input,
                                errors, duration_ns, replay)
      SELECT id, at, agent_id, revision, effect::decision_effect, fail_reason, principal, action,
             resource_kind, resource_id, require, reasons, shadow_effect::decision_effect,
             shadow_revision, shadow_reasons, data_revision, signals, input, errors, duration_ns,
             replay
      FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS r(
        id text, at timestamptz, agent_id text, revision integer, effect text, fail_reason text,
        principal text, action text, resource_kind text, resource_id text, require jsonb,
        reasons jsonb, shadow_effect text, shadow_revision integer, shadow_reasons jsonb,
        data_revision integer, signals jsonb, input jsonb, errors integer, duration_ns bigint,
        replay jsonb)
      ON CONFLICT (id) DO NOTHING`;
  }

  /** One row through Prisma's checks (to isolate a row the bulk insert could not take). */
  async insertOne(row: Prisma.DecisionLogCreateManyInput): Promise<number> {
    return (await this.prisma.decisionLog.createMany({ data: [row], skipDuplicates: true })).count;
  }

  /** A trivial round trip, to tell a database outage from a bad record. */
  async ping(): Promise<void> {
    await this.prisma.$queryRaw`SELECT 1`;
  }

  /** Deletes up to `limit` decisions older than `cutoff`; returns how many. */
  pruneChunk(cutoff: Date, limit: number): Promise<number> {
    return this.prisma.$executeRaw`
        DELETE FROM decision_log
        WHERE id IN (SELECT id FROM decision_log WHERE at < ${cutoff} LIMIT ${limit})`;
  }

  /** Newest first. */
  list(where: Prisma.DecisionLogWhereInput, take: number): Promise<DecisionLog[]> {
    return this.prisma.decisionLog.findMany({
      where,
      orderBy: [{ at: 'desc' }, { id: 'desc' }],
      take,
    });
  }

  find(id: string): Promise<DecisionLog | null> {
    return this.prisma.decisionLog.findUnique({ where: { id } });
  }

  timeline(plan: TimelinePlan): Promise<TimelineRow[]> {
    return this.prisma.$queryRaw<TimelineRow[]>(timelineQuery(plan));
  }

  /** Decisions in the window by effect and fail reason ('' for none). */
  async effectCounts({ from, to }: Window): Promise<EffectCount[]> {
    const rows = await this.prisma.$queryRaw<EffectCountRow[]>(effectCountsQuery(from, to));
    return rows.map((row) => ({ ...row, count: Number(row.count) }));
  }

  /** The principals most often decided `effect` in the window, most first. */
  async topPrincipals(
    { from, to }: Window,
    effect: 'deny' | 'step_up',
  ): Promise<{ principal: string; count: number }[]> {
    const rows = await this.prisma.$queryRaw<TopRow[]>(topPrincipalsQuery(from, to, effect));
    return rows.map((row) => ({ principal: row.key, count: Number(row.count) }));
  }

  /** The rules of `effect` that matched in decisions with that effect, most frequent first. */
  async topRules(
    { from, to }: Window,
    effect: 'deny' | 'step_up',
  ): Promise<{ rule: string; count: number }[]> {
    const rows = await this.prisma.$queryRaw<TopRow[]>(topRulesQuery(from, to, effect));
    return rows.map((row) => ({ rule: row.key, count: Number(row.count) }));
  }

  /**
   * Decisions logged with a shadow evaluation in the window (of one shadow revision, if given):
   * how many, the divergent ones by effect pair and by explaining rule, and recent examples.
   */
  async shadowComparison({ from, to }: Window, shadowRevision?: number) {
    const compared = Prisma.sql`d.at >= ${from} AND d.at < ${to} AND d.shadow_effect IS NOT NULL${
      shadowRevision !== undefined
        ? Prisma.sql` AND d.shadow_revision = ${shadowRevision}`
        : Prisma.empty
    }`;
    const divergent = Prisma.sql`${compared} AND d.shadow_effect <> d.effect`;

    const [total, pairs, rules, exampleIds] = await Promise.all([
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
    ]);
    const examples = await this.prisma.decisionLog.findMany({
      where: { id: { in: exampleIds.map((row) => row.id) } },
      orderBy: [{ at: 'desc' }, { id: 'desc' }],
    });
    return { total, pairs, rules, examples };
  }
}
