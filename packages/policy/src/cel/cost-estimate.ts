import type { ASTNode } from '@marcbachmann/cel-js';
import {
  BUILDING_FUNCTIONS,
  CHARACTERS_PER_ITERATION,
  COMPARISONS,
  CONSTANT_FUNCTIONS,
  type CostLimits,
} from './cost-meter.js';

/**
 * The compile-time side of the cost budget: a static estimate of what a condition costs at run
 * time, counted the way the run-time meter counts (cost-instrument.ts), with the sizes known
 * at compile time: literals and the repository's data documents. Request fields have no known
 * size; they count as one element, so the estimate is the least the worst case costs, and a
 * condition whose estimate is over budget would fail at run time whenever its expensive part
 * runs. Comprehensions nested deeper than MAX_UNSIZED_NESTING over request fields are refused
 * too: their cost is a power of the request's size, which the caller chooses.
 */

/** Comprehensions over inputs of unknown size that may be nested in one another. */
export const MAX_UNSIZED_NESTING = 3;

export type CostProblem = {
  kind: 'iterations' | 'built' | 'nesting';
  message: string;
  /** 0-based offset in the expression of the comprehension or operation at fault. */
  offset: number;
};

/** What is known about a value at compile time. */
interface Shape {
  /** Its value, when it is a literal or data. */
  value?: unknown;
  /** Upper bound of its elements (list, map) or characters (string); undefined: unknown. */
  size?: number;
  /** Upper bound of the size of any list or map nested in it (an element, an element's element). */
  inner?: number;
  /**
   * Upper bound of its elements if it is a list, 0 when it is known not to be one: `in`
   * scans a list element by element but finds a map key in one step.
   */
  list?: number;
  /** Like `inner`, for the lists nested in it only. */
  innerList?: number;
}

interface Estimate {
  shape: Shape;
  iterations: number;
  built: number;
  /** Depth of nested comprehensions over inputs of unknown size. */
  unsized: number;
}

const UNKNOWN: Shape = {};
const QUANTIFIERS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

function sizeOf(value: unknown): number | undefined {
  if (typeof value === 'string') return value.length;
  if (Array.isArray(value)) return value.length;
  if (typeof value === 'object' && value !== null) return Object.keys(value).length;
  return undefined;
}

/** Data documents are walked once per compile, however many conditions read them. */
const innerCache = new WeakMap<object, number>();
const innerListCache = new WeakMap<object, number>();

/**
 * The largest size of any list or map nested inside a value (0 when none). Strings are left
 * out, so a bound derived from it always describes a collection; a string read through a
 * dynamic index counts as unknown, which only makes the estimate lower.
 */
function innerOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  const cached = innerCache.get(value);
  if (cached !== undefined) return cached;
  let largest = 0;
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null)
      largest = Math.max(largest, sizeOf(child) ?? 0, innerOf(child));
  }
  innerCache.set(value, largest);
  return largest;
}

/** The largest size of any list nested inside a value (0 when none). */
function innerListOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  const cached = innerListCache.get(value);
  if (cached !== undefined) return cached;
  let largest = 0;
  for (const child of Object.values(value)) {
    if (Array.isArray(child)) largest = Math.max(largest, child.length);
    largest = Math.max(largest, innerListOf(child));
  }
  innerListCache.set(value, largest);
  return largest;
}

function known(value: unknown): Shape {
  const size = sizeOf(value);
  if (size === undefined) return { value };
  const list = Array.isArray(value) ? size : 0;
  return { value, size, inner: innerOf(value), list, innerList: innerListOf(value) };
}

/** A value nested in `shape` (an element, a field, an indexed entry) whose content is unknown. */
function nestedIn(shape: Shape): Shape {
  if (shape.inner === undefined) return UNKNOWN;
  return {
    size: shape.inner,
    inner: shape.inner,
    list: shape.innerList,
    innerList: shape.innerList,
  };
}

function scanCost(shape: Shape, listsOnly = false): number {
  if (listsOnly) return shape.list ?? 0;
  if (shape.size === undefined) return 0;
  if (typeof shape.value === 'string')
    return listsOnly ? 0 : Math.floor(shape.size / CHARACTERS_PER_ITERATION);
  return shape.size;
}

const range = (node: ASTNode) => node.range?.start ?? node.start ?? 0;

/**
 * Estimates a parsed condition against the limits; returns the first problem, or undefined.
 * `data` is the repository's data tree (the value of `data` in conditions).
 */
export function estimateCost(
  ast: ASTNode,
  data: Record<string, unknown>,
  limits: Readonly<CostLimits>,
): CostProblem | undefined {
  let problem: CostProblem | undefined;
  const report = (found: CostProblem) => {
    problem ??= found;
  };

  const visit = (node: ASTNode, scope: Map<string, Shape>, inStep: boolean): Estimate => {
    const result: Estimate = { shape: UNKNOWN, iterations: 0, built: 0, unsized: 0 };
    // Defensive: an operand that is not a node (a shape this version of cel-js does not use).
    if (typeof node !== 'object' || node === null || typeof node.op !== 'string') return result;
    const add = (child: Estimate) => {
      result.iterations += child.iterations;
      result.built += child.built;
      result.unsized = Math.max(result.unsized, child.unsized);
      return child;
    };
    switch (node.op) {
      case 'value':
        result.shape = known(node.args);
        return result;
      case 'id':
        result.shape = scope.get(node.args) ?? (node.args === 'data' ? known(data) : UNKNOWN);
        return result;
      case '.':
      case '.?': {
        const left = add(visit(node.args[0], scope, inStep)).shape;
        result.shape = fieldOf(left, node.args[1]);
        return result;
      }
      case '[]':
      case '[?]': {
        const left = add(visit(node.args[0], scope, inStep)).shape;
        const key = add(visit(node.args[1], scope, inStep)).shape;
        result.shape =
          key.value !== undefined &&
          (typeof key.value === 'string' || typeof key.value === 'bigint')
            ? fieldOf(left, String(key.value))
            : nestedIn(left);
        return result;
      }
      case 'list': {
        const elements = node.args.map((element) => add(visit(element, scope, inStep)).shape);
        const sizes = elements.map((element) => element.size ?? 0);
        result.shape = {
          size: elements.length,
          list: elements.length,
          inner: elements.every((e) => e.size !== undefined) ? Math.max(0, ...sizes) : undefined,
        };
        if (elements.every((e) => 'value' in e)) result.shape.value = elements.map((e) => e.value);
        if (inStep) result.built += elements.length;
        return result;
      }
      case 'map':
        for (const [key, value] of node.args) {
          add(visit(key, scope, inStep));
          add(visit(value, scope, inStep));
        }
        result.shape = { size: node.args.length, list: 0 };
        if (inStep) result.built += node.args.length;
        return result;
      case 'in': {
        add(visit(node.args[0], scope, inStep));
        const right = add(visit(node.args[1], scope, inStep)).shape;
        if (inStep) result.iterations += scanCost(right, true);
        return result;
      }
      case '+': {
        const left = add(visit(node.args[0], scope, inStep)).shape;
        const right = add(visit(node.args[1], scope, inStep)).shape;
        if (left.size !== undefined && right.size !== undefined) {
          result.shape = { size: left.size + right.size };
          result.built += left.size + right.size;
        }
        return result;
      }
      case 'call':
      case 'rcall': {
        const name = node.args[0];
        if (node.op === 'rcall') {
          const receiver = node.args[1];
          const args = node.args[2];
          if (QUANTIFIERS.has(name) && (args.length === 2 || args.length === 3)) {
            return comprehension(node, name, receiver, args, scope, inStep);
          }
          if (
            name === 'bind' &&
            receiver.op === 'id' &&
            receiver.args === 'cel' &&
            args.length === 3 &&
            args[0]?.op === 'id'
          ) {
            const value = add(visit(args[1] as ASTNode, scope, inStep)).shape;
            const inner = new Map(scope).set(args[0].args as string, value);
            result.shape = add(visit(args[2] as ASTNode, inner, inStep)).shape;
            return result;
          }
        }
        const operands = node.op === 'call' ? node.args[1] : [node.args[1], ...node.args[2]];
        for (const operand of operands) {
          const shape = add(visit(operand, scope, inStep)).shape;
          if (inStep && !CONSTANT_FUNCTIONS.has(name)) result.iterations += scanCost(shape);
          if (inStep && BUILDING_FUNCTIONS.has(name)) result.built += shape.size ?? 0;
        }
        return result;
      }
      default: {
        const operands = (Array.isArray(node.args) ? node.args : [node.args]) as ASTNode[];
        for (const operand of operands) {
          const shape = add(visit(operand, scope, inStep)).shape;
          if (inStep && COMPARISONS.has(node.op)) result.iterations += scanCost(shape);
        }
        return result;
      }
    }
  };

  const comprehension = (
    node: ASTNode,
    name: string,
    receiver: ASTNode,
    args: ASTNode[],
    scope: Map<string, Shape>,
    inStep: boolean,
  ): Estimate => {
    const iterable = visit(receiver, scope, inStep);
    const variable = args[0];
    const element = nestedIn(iterable.shape);
    const inner =
      variable?.op === 'id' ? new Map(scope).set(variable.args as string, element) : scope;
    const body = args.slice(1).map((arg) => visit(arg, inner, true));
    const steps = iterable.shape.size ?? 1;
    const perStep = {
      iterations: 1 + body.reduce((sum, b) => sum + b.iterations, 0),
      built: body.reduce((sum, b) => sum + b.built, 0),
    };
    const unsized =
      Math.max(0, ...body.map((b) => b.unsized)) + (iterable.shape.size === undefined ? 1 : 0);
    const result: Estimate = {
      shape:
        name === 'map' || name === 'filter'
          ? {
              ...(iterable.shape.size !== undefined
                ? { size: iterable.shape.size, list: iterable.shape.size }
                : {}),
            }
          : UNKNOWN,
      iterations: iterable.iterations + steps * perStep.iterations,
      built: iterable.built + steps * perStep.built,
      unsized: Math.max(iterable.unsized, unsized),
    };
    const offset = range(node);
    if (result.unsized > MAX_UNSIZED_NESTING)
      report({
        kind: 'nesting',
        offset,
        message: `${result.unsized} comprehensions are nested over request fields whose size the caller chooses; at most ${MAX_UNSIZED_NESTING} may be, since the cost grows as a power of that size`,
      });
    if (result.iterations > limits.maxIterations)
      report({
        kind: 'iterations',
        offset,
        message: `this comprehension takes at least ${Math.round(result.iterations).toLocaleString('en-US')} iterations with the lists known at compile time; the cost budget of a condition is ${limits.maxIterations.toLocaleString('en-US')} (iterate over fewer or smaller lists, or nest fewer comprehensions)`,
      });
    if (result.built > limits.maxBuiltSize)
      report({
        kind: 'built',
        offset,
        message: `this comprehension builds at least ${Math.round(result.built).toLocaleString('en-US')} elements and characters; the cost budget of a condition is ${limits.maxBuiltSize.toLocaleString('en-US')}`,
      });
    return result;
  };

  const total = visit(ast, new Map(), false);
  if (!problem && total.iterations > limits.maxIterations)
    report({
      kind: 'iterations',
      offset: range(ast),
      message: `this condition takes at least ${Math.round(total.iterations).toLocaleString('en-US')} iterations; the cost budget of a condition is ${limits.maxIterations.toLocaleString('en-US')}`,
    });
  if (!problem && total.built > limits.maxBuiltSize)
    report({
      kind: 'built',
      offset: range(ast),
      message: `this condition builds at least ${Math.round(total.built).toLocaleString('en-US')} elements and characters; the cost budget of a condition is ${limits.maxBuiltSize.toLocaleString('en-US')}`,
    });
  return problem;
}

function fieldOf(shape: Shape, key: string): Shape {
  const value = shape.value;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return Object.prototype.hasOwnProperty.call(value, key)
      ? known((value as Record<string, unknown>)[key])
      : UNKNOWN;
  }
  if (Array.isArray(value) && /^\d+$/.test(key)) return known(value[Number(key)]);
  // A field of a value whose content is unknown but bounded is bounded the same way.
  return nestedIn(shape);
}
