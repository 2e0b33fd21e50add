import { StepgateError, type DecisionView, type DecisionsQuery } from '@stepgate/protocol';
import { decodeCursor, olderThan } from '../common/keyset-cursor.js';
import type { DecisionLog, Prisma } from '../generated/prisma/client.js';

/** Exact text, or a prefix when it ends in `*`. */
export function textFilter(value: string): string | Prisma.StringFilter<'DecisionLog'> {
  return value.endsWith('*') ? { startsWith: value.slice(0, -1) } : value;
}

/** The WHERE of a decision listing: every filter of the query, plus the keyset cursor. */
export function decisionWhere(query: DecisionsQuery): Prisma.DecisionLogWhereInput {
  const and: Prisma.DecisionLogWhereInput[] = [];
  if (query.from || query.to) {
    and.push({
      at: {
        ...(query.from ? { gte: new Date(query.from) } : {}),
        ...(query.to ? { lt: new Date(query.to) } : {}),
      },
    });
  }
  if (query.principal) and.push({ principal: textFilter(query.principal) });
  if (query.action) and.push({ action: textFilter(query.action) });
  if (query.resource) and.push({ resourceId: textFilter(query.resource) });
  if (query.resourceKind) and.push({ resourceKind: textFilter(query.resourceKind) });
  if (query.effect) and.push({ effect: query.effect });
  if (query.revision !== undefined) and.push({ revision: query.revision });
  if (query.agent) and.push({ agentId: query.agent });
  if (query.rule) and.push({ reasons: { array_contains: [ruleMatch(query.rule)] } });
  // Newest first: the next page holds rows strictly "before" the last one in (at, id) order.
  if (query.cursor) and.push(olderThan(decodeCursor(query.cursor)));
  return and.length > 0 ? { AND: and } : {};
}

/**
 * The reason a rule filter looks for: `<policy>/<rule>` splits at the first `/` (the agents'
 * fail-mode rules, `(agent)/fail_closed/no_bundle`, hold one); `<policy>/*` is any rule of the
 * policy. Matched with jsonb containment (`reasons @> [...]`), which the GIN index on reasons
 * answers.
 */
export function ruleMatch(rule: string): { policy: string; rule?: string } {
  const slash = rule.indexOf('/');
  const policy = rule.slice(0, slash);
  const name = rule.slice(slash + 1);
  return name === '*' ? { policy } : { policy, rule: name };
}

type Reasons = DecisionView['reasons'];

export function decisionView(row: DecisionLog): DecisionView {
  return {
    decisionId: row.id,
    at: row.at.toISOString(),
    agentId: row.agentId,
    revision: row.revision,
    effect: row.effect,
    failReason: row.failReason,
    principal: row.principal,
    action: row.action,
    resource: { kind: row.resourceKind, id: row.resourceId },
    require: row.require ?? null,
    reasons: (row.reasons ?? []) as Reasons,
    shadow: row.shadowEffect
      ? {
          effect: row.shadowEffect,
          revision: row.shadowRevision,
          reasons: (row.shadowReasons ?? []) as Reasons,
        }
      : null,
    dataRevision: row.dataRevision,
    signals: (row.signals ?? null) as DecisionView['signals'],
    replay: (row.replay ?? null) as DecisionView['replay'],
    input: row.input ?? null,
    errors: row.errors,
    durationNs: Number(row.durationNs),
    receivedAt: row.receivedAt.toISOString(),
  };
}

/** `from`/`to` of a report, defaulting to the last 24 hours. */
export function timeWindow(query: { from?: string; to?: string }, now = new Date()) {
  const to = query.to ? new Date(query.to) : now;
  const from = query.from ? new Date(query.from) : new Date(to.getTime() - 24 * 3600_000);
  if (from.getTime() >= to.getTime())
    throw new StepgateError('request/invalid', '"from" must be before "to"');
  return { from, to };
}
