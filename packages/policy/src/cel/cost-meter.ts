/**
 * The cost budget of CEL conditions. A condition is data from the policy repository and its
 * inputs come from the caller, so neither may decide how long a decision takes: every
 * comprehension step and every element a step scans counts as an iteration, every element and
 * character an expression builds counts towards its built size, and a condition over either
 * limit stops with a {@link CostBudgetError}, which the engine treats like any condition error
 * (recorded on the decision, then `onError`).
 *
 * The limits are fixed, not settable in stepgate.yaml: a budget that a commit to the policy
 * repository could raise would not protect agents from a malicious commit.
 */

export interface CostLimits {
  /**
   * Comprehension steps (`all`, `exists`, `exists_one`, `map`, `filter`), counted across
   * nesting, plus what each step scans: the elements of a list it searches (`in`, `==`, list
   * arguments of functions) and the characters of the strings it passes to functions, one
   * iteration per CHARACTERS_PER_ITERATION.
   */
  maxIterations: number;
  /** Elements and characters of the lists, maps and strings one condition builds. */
  maxBuiltSize: number;
}

/** About 20 ms of evaluation per condition on the reference machine; real conditions use tens. */
export const COST_LIMITS: Readonly<CostLimits> = Object.freeze({
  maxIterations: 100_000,
  maxBuiltSize: 1_000_000,
});

/** One decision may spend this many conditions' worth of budget, whatever its number of rules. */
export const DECISION_BUDGET_FACTOR = 10;

/**
 * Characters of a string that count as one iteration when a function or operator scans it:
 * comparing a hundred characters costs about what one comprehension step does, so short
 * strings (names, ids, addresses) cost nothing and a long one costs in proportion.
 */
export const CHARACTERS_PER_ITERATION = 100;

/** The evaluation error of a condition over budget; `code` marks it on the decision. */
export class CostBudgetError extends Error {
  readonly code = 'cel/cost';
  constructor(message: string) {
    super(message);
    this.name = 'CostBudgetError';
  }
}

/**
 * Counts the cost of the conditions of one decision. Evaluation is synchronous, so one meter
 * per engine is enough: `startDecision` and `startCondition` reset the running limits.
 */
export class CostMeter {
  iterations = 0;
  built = 0;
  /** Set once a limit is crossed; the condition fails with it whatever it evaluates to. */
  failure: CostBudgetError | undefined;
  private iterationLimit = 0;
  private builtLimit = 0;
  private decisionIterationLimit = 0;
  private decisionBuiltLimit = 0;

  constructor(readonly limits: Readonly<CostLimits> = COST_LIMITS) {
    this.startDecision();
  }

  startDecision(): void {
    this.iterations = 0;
    this.built = 0;
    this.decisionIterationLimit = this.limits.maxIterations * DECISION_BUDGET_FACTOR;
    this.decisionBuiltLimit = this.limits.maxBuiltSize * DECISION_BUDGET_FACTOR;
  }

  startCondition(): void {
    this.failure = undefined;
    this.iterationLimit = Math.min(
      this.iterations + this.limits.maxIterations,
      this.decisionIterationLimit,
    );
    this.builtLimit = Math.min(this.built + this.limits.maxBuiltSize, this.decisionBuiltLimit);
  }

  /** One comprehension step. */
  step(): void {
    if (++this.iterations > this.iterationLimit) this.exceeded('iterations');
  }

  /** Elements (or characters / CHARACTERS_PER_ITERATION) scanned. */
  scan(count: number): void {
    if ((this.iterations += count) > this.iterationLimit) this.exceeded('iterations');
  }

  /** Elements or characters of a value just built. */
  build(size: number): void {
    if ((this.built += size) > this.builtLimit) this.exceeded('built');
  }

  private exceeded(what: 'iterations' | 'built'): never {
    this.failure ??= new CostBudgetError(this.describe(what));
    throw this.failure;
  }

  private describe(what: 'iterations' | 'built'): string {
    const decision =
      what === 'iterations'
        ? this.iterationLimit === this.decisionIterationLimit
        : this.builtLimit === this.decisionBuiltLimit;
    const limit = what === 'iterations' ? this.limits.maxIterations : this.limits.maxBuiltSize;
    const scope = decision
      ? `the conditions of one decision (${DECISION_BUDGET_FACTOR} x ${limit})`
      : `one condition (${limit})`;
    return what === 'iterations'
      ? `cost budget exceeded: more iterations (comprehension steps and elements scanned) than allowed for ${scope}`
      : `cost budget exceeded: larger values built (elements and characters) than allowed for ${scope}`;
  }
}

/** Iterations to scan a value: list and map elements, string and bytes lengths / CHARACTERS_PER_ITERATION. */
export function scanCost(value: unknown): number {
  if (typeof value === 'string') return Math.floor(value.length / CHARACTERS_PER_ITERATION);
  if (typeof value !== 'object' || value === null) return 0;
  if (Array.isArray(value)) return value.length;
  if (value instanceof Uint8Array) return Math.floor(value.length / CHARACTERS_PER_ITERATION);
  if (value instanceof Map || value instanceof Set) return value.size;
  if (value.constructor === Object || value.constructor === undefined)
    return Object.keys(value).length;
  return 0;
}

/** Size of a built value: elements of a list or map, characters of a string, bytes. */
export function builtSize(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (typeof value !== 'object' || value === null) return 0;
  if (Array.isArray(value) || value instanceof Uint8Array) return value.length;
  if (value instanceof Map || value instanceof Set) return value.size;
  if (value.constructor === Object || value.constructor === undefined)
    return Object.keys(value).length;
  return 0;
}

/*
 * What costs what, shared by the compile-time estimate (cost-estimate.ts) and the run-time
 * instrumentation (cost-instrument.ts), so the two can never disagree on it.
 */

/** Functions whose cost does not grow with their arguments. */
export const CONSTANT_FUNCTIONS: ReadonlySet<string> = new Set([
  'size',
  'dyn',
  'type',
  'has',
  'timestamp',
  'duration',
]);
/** Functions that return a new string, list or map as large as their input. */
export const BUILDING_FUNCTIONS: ReadonlySet<string> = new Set([
  'split',
  'join',
  'lowerAscii',
  'upperAscii',
  'trim',
  'substring',
  'string',
  'bytes',
  'base64',
  'hex',
  'json',
]);
/** Operators that scan both operands (a list compared with a list...). */
export const COMPARISONS: ReadonlySet<string> = new Set(['==', '!=', '<', '<=', '>', '>=']);
