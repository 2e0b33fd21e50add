import type { Environment } from '@marcbachmann/cel-js';
import { estimateCost } from '../cel/cost-estimate.js';
import { COST_LIMITS } from '../cel/cost-meter.js';

export const MAX_EXPRESSION_LENGTH = 10_000;

export type ConditionCheck =
  | { ok: true }
  | {
      ok: false;
      code: 'cel/syntax' | 'cel/type' | 'cel/not_boolean' | 'cel/cost';
      message: string;
      offset?: number;
    };

interface CelErrorLike {
  name?: string;
  message?: string;
  range?: { start?: number };
}

/**
 * Parses and type-checks one condition; it must produce a bool (or dyn, checked at run time)
 * and its static cost estimate, with the repository's `data`, must be within the budget.
 */
export function checkCondition(
  env: Environment,
  expression: string,
  data: Record<string, unknown> = {},
): ConditionCheck {
  if (expression.length > MAX_EXPRESSION_LENGTH) {
    return {
      ok: false,
      code: 'cel/syntax',
      message: `condition is ${expression.length} characters long; the limit is ${MAX_EXPRESSION_LENGTH}`,
    };
  }
  let parsed: ReturnType<Environment['parse']>;
  let result: ReturnType<Environment['check']>;
  try {
    // Parsed once: the type check and the cost estimate read the same tree.
    parsed = env.parse(expression);
    result = parsed.check();
  } catch (error) {
    return celFailure(error as CelErrorLike);
  }
  if (!result.valid) return celFailure(result.error as CelErrorLike);
  if (result.type !== 'bool' && result.type !== 'dyn') {
    return {
      ok: false,
      code: 'cel/not_boolean',
      message: `condition must be a bool, but it is ${result.type}`,
    };
  }
  const problem = estimateCost(parsed.ast, data, COST_LIMITS);
  if (problem)
    return { ok: false, code: 'cel/cost', message: problem.message, offset: problem.offset };
  return { ok: true };
}

function celFailure(error: CelErrorLike): ConditionCheck {
  const summary = (error.message ?? String(error)).split('\n')[0] ?? 'invalid expression';
  const offset = typeof error.range?.start === 'number' ? error.range.start : undefined;
  const code = error.name === 'ParseError' ? 'cel/syntax' : 'cel/type';
  return {
    ok: false,
    code,
    message: `${code === 'cel/syntax' ? 'syntax error' : 'type error'} in condition: ${summary}`,
    ...(offset !== undefined ? { offset } : {}),
  };
}
