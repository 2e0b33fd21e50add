import { z } from 'zod';
import { globShape } from './glob-shape.js';
import { REQUEST_LIMITS } from './request-limits.js';

/**
 * Limits on the globs a grant carries. A grant's scope is chosen by whoever elevates (any
 * person with a factor) and every agent matches it against request values on its hot path, so
 * its cost must be bounded: matching is linear in the value and in the glob's length, once per
 * brace alternative and per pattern. With these limits and the request limits (`action` 512,
 * `resource.id` 4096 characters) matching one grant costs about 1.5 ms of CPU in the worst
 * case (every pattern at every limit, a value that keeps every state alive), and a subject holds
 * at most 16 elevation grants (GRANTS_PER_SUBJECT in the control plane).
 * Checked when a grant is asked for (elevation, approval request: 400 naming the pattern and
 * the limit), when it is signed, and again by agents, which refuse a grant past them (one
 * issued before the limits existed).
 *
 * - `patterns` 16 per list (actions, resources): a scope names a few actions and resources.
 * - `globLength` 128 for a pattern with glob syntax; a literal pattern (an exact action or
 *   resource id, as approvals use) may be as long as the request field it must equal.
 * - `wildcardRuns` 16 `*`/`**` runs per pattern.
 * - `alternatives` 32: brace alternatives summed over a list (`{a,b}{c,d}` counts 4).
 */
export const GRANT_SCOPE_LIMITS = Object.freeze({
  patterns: 16,
  globLength: 128,
  wildcardRuns: 16,
  alternatives: 32,
});

export type GrantScopeField = 'actions' | 'resources';

/** What is wrong with one pattern of a grant's `actions` or `resources`, or undefined. */
export function grantPatternProblem(pattern: string, field: GrantScopeField): string | undefined {
  const shape = globShape(pattern);
  if ('message' in shape)
    return `${JSON.stringify(pattern.slice(0, 64))} is not a glob: ${shape.message} at offset ${shape.offset}; use *, **, ? and {a,b} without nesting`;
  if (shape.literal) {
    const limit = field === 'actions' ? REQUEST_LIMITS.action : REQUEST_LIMITS.resourceId;
    return pattern.length > limit
      ? `a pattern is ${pattern.length} characters long; the limit is ${limit} (the longest ${field === 'actions' ? 'action' : 'resource id'} a request may carry)`
      : undefined;
  }
  if (pattern.length > GRANT_SCOPE_LIMITS.globLength)
    return `a pattern with glob syntax is ${pattern.length} characters long; the limit is ${GRANT_SCOPE_LIMITS.globLength}`;
  if (shape.wildcardRuns > GRANT_SCOPE_LIMITS.wildcardRuns)
    return `a pattern has ${shape.wildcardRuns} runs of * or **; the limit is ${GRANT_SCOPE_LIMITS.wildcardRuns}`;
  return undefined;
}

/**
 * A grant's `actions` or `resources`: 1 to {@link GRANT_SCOPE_LIMITS}.patterns patterns, each
 * within the limits, and at most `alternatives` brace alternatives in all.
 */
export function grantPatternsSchema(field: GrantScopeField) {
  return z
    .array(z.string().trim().min(1))
    .min(1)
    .max(GRANT_SCOPE_LIMITS.patterns, {
      error: `at most ${GRANT_SCOPE_LIMITS.patterns} patterns per grant`,
    })
    .superRefine((patterns, context) => {
      let alternatives = 0;
      patterns.forEach((pattern, index) => {
        const problem = grantPatternProblem(pattern, field);
        if (problem !== undefined)
          context.addIssue({ code: 'custom', message: problem, path: [index] });
        const shape = globShape(pattern);
        if (!('message' in shape)) alternatives += shape.alternatives;
      });
      if (alternatives > GRANT_SCOPE_LIMITS.alternatives)
        context.addIssue({
          code: 'custom',
          message: `the patterns expand to ${alternatives} brace alternatives; the limit is ${GRANT_SCOPE_LIMITS.alternatives}`,
        });
    });
}
