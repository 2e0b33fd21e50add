import type { NotReplayableReason, ReplayExample } from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';
import { ReplayTally } from './replay-tally.js';

type Event =
  | { kind: 'unchanged' }
  | { kind: 'change'; change: string; rules: { policy: string; rule: string }[]; ex: ReplayExample }
  | { kind: 'skip'; reason: NotReplayableReason; ex: ReplayExample };

function example(n: number, principal: string, action: string): ReplayExample {
  return {
    decisionId: `d-${n}`,
    at: new Date(Date.UTC(2026, 11, 1) + n * 1000).toISOString(),
    principal,
    action,
    resource: { kind: 'doc', id: `doc-${n}` },
    before: { effect: 'allow', require: null },
    after: null,
  };
}

/** A log of `count` outcomes whose groups (changes, rules, principals, actions) recur and grow. */
function log(count: number, principals = 7): Event[] {
  return Array.from({ length: count }, (_, n): Event => {
    if (n % 11 === 0) {
      const reason = (['fail_mode', 'masked_input_read', 'recorded_before_replay'] as const)[
        n % 3
      ]!;
      return { kind: 'skip', reason, ex: example(n, `p${n % principals}`, 'docs:read') };
    }
    if (n % 3 === 0) return { kind: 'unchanged' };
    return {
      kind: 'change',
      change: n % 2 === 0 ? 'allow -> deny' : 'allow -> step_up',
      rules: [
        { policy: 'docs', rule: `r${n % 4}` },
        ...(n % 5 === 0 ? [{ policy: 'eu', rule: 'x' }] : []),
      ],
      ex: example(n, `p${n % principals}`, `a${n % 3}`),
    };
  });
}

function tallyOf(events: Event[], examples: number): ReplayTally {
  const tally = new ReplayTally(examples);
  for (const event of events) {
    if (event.kind === 'unchanged') tally.unchanged();
    else if (event.kind === 'change') tally.change(event.change, event.rules, event.ex);
    else tally.notReplayed(event.reason, event.ex);
  }
  return tally;
}

/** The slices' tallies crossed a thread: plain data, as structuredClone makes them. */
function mergedOf(events: Event[], cuts: number[], examples: number): ReplayTally {
  const bounds = [0, ...cuts, events.length];
  const merged = new ReplayTally(examples);
  for (let i = 0; i + 1 < bounds.length; i++)
    merged.merge(
      structuredClone(tallyOf(events.slice(bounds[i], bounds[i + 1]), examples).state()),
    );
  return merged;
}

describe('ReplayTally.merge', () => {
  it('slices merged in time order give exactly the report of one pass, examples included', () => {
    const events = log(500);
    const whole = tallyOf(events, 3).result();
    for (const cuts of [[1], [250], [37, 38, 400], [100, 200, 300, 499], [0, 0, 500]]) {
      const merged = mergedOf(events, cuts, 3);
      expect(merged.result(), JSON.stringify(cuts)).toEqual(whole);
      expect(merged.read).toBe(500);
    }
  });

  it('keeps the first examples in time order, not the first slice’s only', () => {
    // p0 changes once in the first slice and twice in the second: its examples span both.
    const events = log(60, 30);
    const merged = mergedOf(events, [20], 5).result();
    const p1 = merged.byPrincipal.find((group) => group.principal === 'p1')!;
    expect(p1.examples.map((e) => e.decisionId)).toEqual(
      tallyOf(events, 5)
        .result()
        .byPrincipal.find((group) => group.principal === 'p1')!
        .examples.map((e) => e.decisionId),
    );
    expect(p1.examples.length).toBeGreaterThan(1);
  });

  it('an empty slice changes nothing', () => {
    const events = log(100);
    const merged = new ReplayTally(2);
    merged.merge(new ReplayTally(2).state());
    merged.merge(tallyOf(events, 2).state());
    merged.merge(new ReplayTally(2).state());
    expect(merged.result()).toEqual(tallyOf(events, 2).result());
  });

  it('stays bounded and reports truncated past 10,000 principals, as one pass does', () => {
    const events = log(21_000, 21_000).filter((event) => event.kind === 'change');
    const whole = tallyOf(events, 1).result();
    const merged = mergedOf(events, [7000], 1).result();
    expect(whole.truncated).toBe(true);
    expect(merged.truncated).toBe(true);
    expect(merged.totals).toEqual(whole.totals);
    expect(merged.changes).toEqual(whole.changes);
  });
});
