import { decisionSchema, type DecisionView } from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';
import type { ControlPlaneApi, DecisionsFilter } from '../api/control-plane-client.js';
import { decisionsCommand, decisionsFilter, parseInstant } from './decisions-command.js';

function decision(id: string, at: string, effect: DecisionView['effect'] = 'allow'): DecisionView {
  return decisionSchema.parse({
    decisionId: id,
    at,
    agentId: 'agent-1',
    revision: 3,
    effect,
    failReason: null,
    principal: 'alice',
    action: 'read',
    resource: { kind: 'doc', id: 'd1' },
    require: null,
    reasons: [{ policy: 'p', rule: 'r', effect }],
    shadow: null,
    dataRevision: null,
    signals: null,
    replay: null,
    input: null,
    errors: 0,
    durationNs: 1000,
    receivedAt: at,
  });
}

describe('decision filters', () => {
  it('turns --since into from, keeps the other filters and drops what is not given', () => {
    const now = Date.parse('2026-12-03T08:00:00Z');
    expect(
      decisionsFilter({ since: 3600, principal: ' alice ', effect: 'deny', revision: 0 }, now),
    ).toEqual({
      from: '2026-12-03T07:00:00.000Z',
      principal: 'alice',
      effect: 'deny',
      revision: 0,
    });
    expect(() => decisionsFilter({ since: 60, from: '2026-12-03T07:00:00.000Z' }, now)).toThrow(
      /--since or --from/,
    );
  });

  it('reads dates and date-times, UTC unless an offset is given', () => {
    expect(parseInstant('2026-12-03')).toBe('2026-12-03T00:00:00.000Z');
    expect(parseInstant('2026-12-03T08:30')).toBe('2026-12-03T08:30:00.000Z');
    expect(parseInstant('2026-12-03 08:30:15')).toBe('2026-12-03T08:30:15.000Z');
    expect(parseInstant('2026-12-03T09:30:00+01:00')).toBe('2026-12-03T08:30:00.000Z');
    for (const bad of ['yesterday', '1h', '2026-13-45', '']) {
      expect(() => parseInstant(bad), bad).toThrow(/date-time/);
    }
  });
});

describe('decisions --follow', () => {
  it('prints each decision once, oldest first, across polls, and stops when told', async () => {
    // The server's newest-first pages: a late-shipped decision (d0, older than d2) shows up too.
    const pages: DecisionView[][] = [
      [decision('d2', '2026-12-03T08:00:02Z'), decision('d1', '2026-12-03T08:00:01Z')],
      [
        decision('d3', '2026-12-03T08:00:03Z', 'deny'),
        decision('d2', '2026-12-03T08:00:02Z'),
        decision('d0', '2026-12-03T08:00:00Z'),
      ],
      [decision('d3', '2026-12-03T08:00:03Z', 'deny')],
    ];
    const queries: DecisionsFilter[] = [];
    const stop = new AbortController();
    const client = {
      listDecisions: async (query: DecisionsFilter) => {
        queries.push(query);
        const page = pages.shift();
        if (pages.length === 0) stop.abort();
        return { decisions: page ?? [], nextCursor: null };
      },
    } as unknown as ControlPlaneApi;
    let out = '';
    let err = '';
    let sleeps = 0;
    const exit = await decisionsCommandWith(
      client,
      { follow: true, json: true, principal: 'alice' },
      {
        stdout: { write: (t: string) => (out += t) },
        stderr: { write: (t: string) => (err += t) },
        env: { STEPGATE_TOKEN: 'sg_test_token_1' },
        clock: { now: () => Date.parse('2026-12-03T08:00:00Z'), sleep: async () => void sleeps++ },
        stop: stop.signal,
      },
    );
    expect(err).toBe('');
    expect(exit).toBe(0);
    const ids = out
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as DecisionView).decisionId);
    expect(ids).toEqual(['d1', 'd2', 'd0', 'd3']);
    expect(queries.every((q) => q.principal === 'alice' && q.limit === 100)).toBe(true);
    expect(sleeps).toBe(2);
  });
});

/** decisionsCommand with a given client: the fetch the client would use answers from `client`. */
async function decisionsCommandWith(
  client: ControlPlaneApi,
  options: Parameters<typeof decisionsCommand>[0],
  io: Parameters<typeof decisionsCommand>[1],
): Promise<number> {
  // A fetch that routes GET /v1/decisions to the fake: the command builds its own client.
  const fetch = (async (url: URL) => {
    const query = Object.fromEntries(url.searchParams) as Record<string, string>;
    const parsed: DecisionsFilter = { ...query, limit: Number(query.limit) } as DecisionsFilter;
    const body = await client.listDecisions(parsed);
    return new Response(JSON.stringify(body), { status: 200 });
  }) as unknown as typeof globalThis.fetch;
  return decisionsCommand(options, { ...io!, fetch });
}
