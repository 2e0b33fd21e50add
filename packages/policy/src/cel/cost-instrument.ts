import type { Environment } from '@marcbachmann/cel-js';
import {
  BUILDING_FUNCTIONS,
  builtSize,
  COMPARISONS,
  CONSTANT_FUNCTIONS,
  scanCost,
  type CostMeter,
} from './cost-meter.js';

/**
 * Run-time metering of a parsed condition. cel-js has no cost limit and no evaluation hook, so
 * this walks its parsed tree once and replaces the `evaluate` method of the few nodes whose
 * cost grows with their inputs by a wrapper that reports to the meter:
 * - the step of every comprehension (the expanded `all`, `exists`, `exists_one`, `map` and
 *   `filter` macros): one iteration per step;
 * - inside a comprehension step, the operands that an operation scans (`in`, `==`, function
 *   arguments): their elements, or their characters (one iteration per 100);
 * - `+` anywhere (the only operator that can double a value, e.g. through `cel.bind`), and
 *   inside a step also list and map literals and the string functions that build a value:
 *   the size of what they build.
 * Outside comprehensions every node runs once per evaluation, so its cost is bounded by the
 * condition's length and the request's size limits; nothing there is wrapped but `+`, which
 * keeps the hot path as it was.
 *
 * This relies on cel-js 8 internals (node `meta.alternate` for expanded macros, the
 * `comprehension` node's `args.step`, `meta.macro` for `cel.bind`); cost-meter.spec.ts fails if
 * a new version changes them.
 */

type Evaluate = (ev: unknown, ast: unknown, ctx: unknown) => unknown;

/** The parts of a cel-js ASTNode that metering uses. */
interface Node {
  op: string;
  args: unknown;
  evaluate: Evaluate;
  readonly meta: {
    alternate?: Node;
    macro?: { val?: Node; exp?: Node; evaluate: Evaluate };
    evaluate: Evaluate;
  };
}

interface Metering {
  step: boolean;
  /** Iterations every evaluation costs whatever the values (a constant operand). */
  fixed: number;
  /** Count the iterations to scan the result ('list': only lists, as for `in`). */
  scan: 'any' | 'list' | undefined;
  build: boolean;
}

function isNode(value: unknown): value is Node {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Node).op === 'string' &&
    typeof (value as Node).evaluate === 'function'
  );
}

type ParsedCondition = ReturnType<Environment['parse']>;

/**
 * Prepares a parsed condition to run under `meter`: the returned function evaluates it for one
 * activation and throws the meter's CostBudgetError when it went over budget, even where CEL's
 * error semantics would have absorbed the error (`true || <error>`, a quantifier that still
 * found its answer).
 */
export function meterCondition(
  parsed: ParsedCondition,
  meter: CostMeter,
): (activation: Record<string, unknown>) => unknown {
  const plan = new Map<Node, Metering>();
  const mark = (node: Node): Metering => {
    let metering = plan.get(node);
    if (!metering)
      plan.set(node, (metering = { step: false, fixed: 0, scan: undefined, build: false }));
    return metering;
  };
  const scanned = (node: unknown, kind: 'any' | 'list', inStep: boolean) => {
    if (!inStep || !isNode(node)) return;
    const target = node.meta.alternate ?? node;
    if (target.op === 'value') {
      const cost = kind === 'list' ? 0 : scanCost(target.args);
      if (cost > 0) mark(target).fixed += cost;
    } else mark(target).scan ??= kind;
  };

  const visit = (node: unknown, inStep: boolean): void => {
    if (!isNode(node)) return;
    const meta = node.meta;
    if (meta.alternate) return visit(meta.alternate, inStep);
    if (meta.macro) {
      visit(meta.macro.val, inStep);
      visit(meta.macro.exp, inStep);
      return;
    }
    const args = node.args;
    switch (node.op) {
      case 'value':
      case 'id':
      case 'accuValue':
      case 'accuInc':
        return;
      case 'comprehension': {
        const c = args as { iterable: Node; init: Node; step: Node };
        visit(c.iterable, inStep);
        visit(c.init, inStep);
        mark(c.step).step = true;
        visit(c.step, true);
        return;
      }
      case 'call':
      case 'rcall': {
        const [name, ...rest] = args as [string, ...unknown[]];
        const operands =
          node.op === 'call' ? (rest[0] as unknown[]) : [rest[0], ...(rest[1] as unknown[])];
        for (const operand of operands) {
          visit(operand, inStep);
          if (!CONSTANT_FUNCTIONS.has(name)) scanned(operand, 'any', inStep);
        }
        if (inStep && BUILDING_FUNCTIONS.has(name)) mark(node).build = true;
        return;
      }
      case 'list':
        for (const element of args as unknown[]) visit(element, inStep);
        if (inStep) mark(node).build = true;
        return;
      case 'map':
        for (const entry of args as [unknown, unknown][]) {
          visit(entry[0], inStep);
          visit(entry[1], inStep);
        }
        if (inStep) mark(node).build = true;
        return;
      case 'in': {
        const [left, right] = args as [unknown, unknown];
        visit(left, inStep);
        visit(right, inStep);
        const target = isNode(right) ? (right.meta.alternate ?? right) : undefined;
        // A list literal is scanned element by element; its size is known now.
        if (inStep && target?.op === 'list')
          mark(target).fixed += (target.args as unknown[]).length;
        else scanned(right, 'list', inStep);
        return;
      }
      case '+':
        for (const operand of args as unknown[]) visit(operand, inStep);
        mark(node).build = true;
        return;
      default:
        if (COMPARISONS.has(node.op)) {
          for (const operand of args as unknown[]) {
            visit(operand, inStep);
            scanned(operand, 'any', inStep);
          }
          return;
        }
        // Field access, indexing, logic, arithmetic, the ternary, accuPush: visit the operands.
        for (const operand of Array.isArray(args) ? args : [args]) visit(operand, inStep);
    }
  };

  visit(parsed.ast, false);
  // Nothing to meter (no comprehension, no +): the condition cannot spend budget, so it runs
  // exactly as it did before metering existed.
  if (plan.size === 0) return parsed;
  for (const [node, metering] of plan) wrap(node, metering, meter);

  return (activation) => {
    meter.startCondition();
    let value: unknown;
    try {
      value = parsed(activation);
    } catch (error) {
      throw meter.failure ?? error;
    }
    if (meter.failure) throw meter.failure;
    return value;
  };
}

/** What ASTNode.prototype.evaluate resolves to, read once the tree has been type-checked. */
function resolved(node: Node): Evaluate {
  const meta = node.meta;
  if (meta.alternate) {
    const alternate = meta.alternate;
    return (ev, _ast, ctx) => alternate.evaluate(ev, alternate, ctx);
  }
  if (meta.macro) {
    const macro = meta.macro;
    return (ev, _ast, ctx) => macro.evaluate(ev, macro, ctx);
  }
  return meta.evaluate;
}

function wrap(node: Node, metering: Metering, meter: CostMeter): void {
  const { step, fixed, scan, build } = metering;
  let inner: Evaluate | undefined;
  // An own property shadows ASTNode.prototype.evaluate, which would replace it on first use.
  node.evaluate = function meteredEvaluate(ev, ast, ctx) {
    if (step) meter.step();
    if (fixed > 0) meter.scan(fixed);
    const value = (inner ??= resolved(node)).call(node, ev, ast, ctx);
    if (scan !== undefined && (scan === 'any' || Array.isArray(value))) meter.scan(scanCost(value));
    if (build) meter.build(builtSize(value));
    return value;
  };
}
