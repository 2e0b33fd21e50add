import type { DecisionView } from '@stepgate/protocol';

type Effect = DecisionView['effect'];

const EFFECT_LABELS: Record<Effect, string> = {
  allow: 'allow',
  deny: 'deny',
  step_up: 'step-up',
};

/** An effect as a word in a coloured pill (the word carries it, not the colour). */
export function EffectBadge({ effect }: { effect: Effect }) {
  return <span className={`badge ${effect}`}>{EFFECT_LABELS[effect]}</span>;
}

/** `<policy>/<rule>`, the spelling of the rule filter. */
export function ruleName(reason: { policy: string; rule: string }): string {
  return `${reason.policy}/${reason.rule}`;
}

/** A duration in nanoseconds, readable (µs below a millisecond). */
export function formatDuration(ns: number): string {
  if (ns < 1_000_000) return `${(ns / 1_000).toFixed(1)} µs`;
  return `${(ns / 1_000_000).toFixed(2)} ms`;
}

/** The path of one decision, carrying the list's filters so "back to the list" keeps them. */
export function decisionHref(id: string, listSearch: string): string {
  return `/decisions/${encodeURIComponent(id)}${listSearch ? `?${listSearch}` : ''}`;
}
