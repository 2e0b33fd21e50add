import type { Effect, Reason, Requirement } from '@stepgate/policy';

/** A verdict as compared: the effect and, on a step-up, the complete requirement. */
export interface Verdict {
  effect: Effect;
  require: Requirement | null;
}

type Direction = 'tighter' | 'looser' | 'same';

/**
 * How `after` differs from `before`: null when it does not; `allow -> step_up` style when the
 * effect changed; between two step-ups `requirement tightened`, `requirement loosened`, or
 * `requirement changed` (stricter in one part, looser in another). `levels` are the level
 * names weakest first (the candidate's settings), to compare `level`.
 */
export function changeOf(
  before: Verdict,
  after: Verdict,
  levels: readonly string[],
): string | null {
  if (before.effect !== after.effect) return `${before.effect} -> ${after.effect}`;
  if (before.effect !== 'step_up') return null;
  const a = before.require ?? {};
  const b = after.require ?? {};
  const parts: Direction[] = [
    compare(rank(a.level, levels), rank(b.level, levels)),
    // No maxAge is no freshness limit: the loosest.
    compare(-(a.maxAge ?? Infinity), -(b.maxAge ?? Infinity)),
    compare(a.approvals ?? 0, b.approvals ?? 0),
  ];
  // A level unknown to the candidate is compared by name only.
  if (a.level !== b.level && parts[0] === 'same') parts[0] = 'tighter';
  const tighter = parts.includes('tighter');
  const looser = parts.includes('looser');
  if (tighter && looser) return 'requirement changed';
  if (tighter) return 'requirement tightened';
  if (looser) return 'requirement loosened';
  return null;
}

function rank(level: string | undefined, levels: readonly string[]): number {
  return level === undefined ? -1 : levels.indexOf(level);
}

function compare(before: number, after: number): Direction {
  return after > before ? 'tighter' : after < before ? 'looser' : 'same';
}

type RuleRef = Pick<Reason, 'policy' | 'rule'>;

const SEVERITY: Record<Effect, number> = { allow: 0, step_up: 1, deny: 2 };

/**
 * The rules a change is put down to. A stricter effect: the candidate's reasons the record did
 * not have (the rules that now step up or deny). A looser one: the recorded reasons the
 * candidate no longer gives (the rules that stopped stepping up or denying). The same effect
 * (a requirement changed): the reasons on either side only. Failing all that, the reasons of
 * the stricter side.
 */
export function rulesOfChange(
  before: { effect: Effect; reasons: readonly RuleRef[] },
  after: { effect: Effect; reasons: readonly RuleRef[] },
): RuleRef[] {
  const key = (reason: RuleRef) => `${reason.policy}\u0000${reason.rule}`;
  const only = (from: readonly RuleRef[], other: readonly RuleRef[]): RuleRef[] => {
    const others = new Set(other.map(key));
    const out = new Map<string, RuleRef>();
    for (const reason of from)
      if (!others.has(key(reason)))
        out.set(key(reason), { policy: reason.policy, rule: reason.rule });
    return [...out.values()];
  };
  const plain = (reasons: readonly RuleRef[]) => [
    ...new Map(reasons.map((r) => [key(r), { policy: r.policy, rule: r.rule }])).values(),
  ];
  const direction = SEVERITY[after.effect] - SEVERITY[before.effect];
  let rules: RuleRef[];
  if (direction > 0) rules = only(after.reasons, before.reasons);
  else if (direction < 0) rules = only(before.reasons, after.reasons);
  else rules = [...only(after.reasons, before.reasons), ...only(before.reasons, after.reasons)];
  if (rules.length > 0) return rules;
  return plain(direction < 0 ? before.reasons : after.reasons);
}
