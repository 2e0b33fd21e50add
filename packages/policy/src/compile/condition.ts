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
  code?: string;
  message?: string;
  range?: { start?: number; end?: number };
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
    return celFailure(expression, error as CelErrorLike);
  }
  if (!result.valid) return celFailure(expression, result.error as CelErrorLike);
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

function celFailure(expression: string, error: CelErrorLike): ConditionCheck {
  const summary = (error.message ?? String(error)).split('\n')[0] ?? 'invalid expression';
  const offset = typeof error.range?.start === 'number' ? error.range.start : undefined;
  const code = error.name === 'ParseError' ? 'cel/syntax' : 'cel/type';
  const hint = code === 'cel/type' ? dataHint(expression, error) : undefined;
  return {
    ok: false,
    code,
    message: `${code === 'cel/syntax' ? 'syntax error' : 'type error'} in condition: ${summary}${hint ? `: ${hint}` : ''}`,
    ...(offset !== undefined ? { offset } : {}),
  };
}

// `data.a.b` ending where the error's range ends (the library reports the key's range).
const DATA_PATH_BEFORE = /(?<![\w.])data((?:\.[A-Za-z_]\w*)+)$/;

/**
 * The two type errors a `data` reference can meet, said in the language's own words: the
 * path to a document is checked (a typo fails here), and a folder is not a map.
 */
function dataHint(expression: string, error: CelErrorLike): string | undefined {
  if (error.code === 'no_such_key' && typeof error.range?.end === 'number') {
    const path = DATA_PATH_BEFORE.exec(expression.slice(0, error.range.end))?.[1];
    if (path !== undefined) {
      const file = `data${path.replace(/\./g, '/')}`;
      return `no data document or folder is named data${path} (a file ${file}.yaml or ${file}.json, or a folder ${file}/)`;
    }
  }
  const folder = /\$data((?:\.\w+)*)/.exec(error.message ?? '')?.[1];
  if (error.code === 'no_such_overload' && folder !== undefined) {
    return `data${folder} is a folder of data documents, not a map; use a document in it (data${folder}.<file>), whose value is a map`;
  }
  return undefined;
}
