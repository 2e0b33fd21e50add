#!/usr/bin/env node
/**
 * Side-by-side comparison of two CEL implementations for Stepgate:
 *   - @marcbachmann/cel-js   (Environment + parse/check, JS-native values)
 *   - @bufbuild/cel          (celEnv + parse/plan, protobuf-based values)
 *
 * 1. Speed: prepare cost and evaluation throughput on authorization-style expressions.
 * 2. Spec coverage: the cel-spec conformance "simple" tests shipped in @bufbuild/cel-spec.
 *
 * Usage (from the repo root):  node bench/cel-compare.js
 * Writes bench/results/cel-compare.md and prints the same Markdown to stdout.
 * CEL_COMPARE_FAILURES=1 additionally lists every failing conformance test on stderr.
 *
 * The conformance tests run in worker threads (one per library, in parallel) so that a
 * test that hangs can be stopped by a watchdog without killing the script.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

import { Environment, evaluate as celjsEvaluate } from '@marcbachmann/cel-js';
import {
  celEnv,
  celUint,
  CelScalar,
  isCelError,
  isCelList,
  isCelMap,
  isCelType,
  isCelUint,
  listType,
  mapType,
  objectType,
  parse as bufParse,
  plan as bufPlan,
} from '@bufbuild/cel';
import { strings as bufStrings } from '@bufbuild/cel/ext';
import { TimestampSchema, timestampFromDate } from '@bufbuild/protobuf/wkt';

const SCRIPT = fileURLToPath(import.meta.url);
const OUT_FILE = path.join(path.dirname(SCRIPT), 'results', 'cel-compare.md');

// ---------------------------------------------------------------------------
// Tunables
// ---------------------------------------------------------------------------
const EVAL_WARMUP = 20_000; // evaluations per expression before timing (or EVAL_WARMUP_MS)
const EVAL_WARMUP_MS = 400; // warm-up time cap for slow expressions
const EVAL_ROUND = 50_000; // evaluations per timed round (upper bound)
const EVAL_ROUND_MIN = 1_000; // lower bound for very slow expressions
const EVAL_ROUND_TARGET_NS = 500e6; // a round is shrunk so that it takes about 500 ms
const GLOBAL_WARMUP_MS = 1_500; // per library, all expressions, before any timing
const PREP_WARMUP = 400; // prepares per expression before timing (capped at 2 s)
const PREP_ROUND_MAX = 5_000; // prepares per timed round (upper bound)
const PREP_ROUND_MIN = 200; // prepares per timed round (lower bound)
const PREP_ROUND_TARGET_NS = 60e6; // a prepare round takes about 60 ms
const ROUNDS = 7; // timed rounds; the median is reported (brief asks for >= 5)
const TEST_TIMEOUT_MS = 2_000; // per conformance test watchdog
const WORKER_READY_TIMEOUT_MS = 30_000; // worker start-up (module loading)
const CONFORMANCE_BUDGET_MS = 45_000; // hard cap for the whole conformance phase per library

const LIBS = /** @type {const} */ (['celjs', 'bufbuild']);
const LIB_LABEL = { celjs: 'cel-js', bufbuild: 'bufbuild' };

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/** Runtime classes of cel-js that its public entry point does not export. */
const CELJS_UINT = celjsEvaluate('0u').constructor;
const CELJS_TYPE = celjsEvaluate('type(0)').constructor;

class Unsupported extends Error {}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function geomean(xs) {
  return Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
}

// ---------------------------------------------------------------------------
// 1. Speed
// ---------------------------------------------------------------------------

const SPEED_EXPRESSIONS = [
  `"admin" in principal.roles`,
  `principal.attributes.department == resource.attributes.owner && resource.attributes.classification != "secret"`,
  `principal.id.startsWith("system:serviceaccount:")`,
  `principal.groups.exists(g, g in ["sre", "platform"])`,
  `now.getDayOfWeek("UTC") in [0, 6]`,
  `context.geo.country in data.blocked.countries`,
  `size(principal.roles) > 2 && context.risk < 50`,
  `resource.attributes.replicas > 3 || action == "deploy"`,
];

// 2025-06-14 is a Saturday (getDayOfWeek == 6).
const NOW = new Date('2025-06-14T10:30:00Z');

function speedInput(now) {
  return {
    principal: {
      id: 'system:serviceaccount:ci:deployer',
      roles: ['viewer', 'admin', 'editor'],
      groups: ['dev', 'platform'],
      attributes: { department: 'payments' },
    },
    resource: {
      attributes: { owner: 'payments', classification: 'internal', replicas: 5n },
    },
    action: 'deploy',
    context: { geo: { country: 'FR' }, risk: 20n },
    data: { blocked: { countries: ['KP', 'IR', 'SY', 'CU'] } },
    now,
  };
}

function makeSpeedEngines() {
  const celjsEnv = new Environment({ homogeneousAggregateLiterals: false })
    .registerVariable('principal', 'map')
    .registerVariable('resource', 'map')
    .registerVariable('context', 'map')
    .registerVariable('data', 'map')
    .registerVariable('action', 'string')
    .registerVariable('now', 'google.protobuf.Timestamp');

  const dynMap = mapType(CelScalar.STRING, CelScalar.DYN);
  const bufEnv = celEnv({
    variables: {
      principal: dynMap,
      resource: dynMap,
      context: dynMap,
      data: dynMap,
      action: CelScalar.STRING,
      now: objectType(TimestampSchema),
    },
  });

  return {
    celjs: {
      input: speedInput(NOW),
      // "prepare" = parse + type-check (checked AST is cached on the parsed function).
      prepare(src) {
        const fn = celjsEnv.parse(src);
        const res = fn.check();
        if (!res.valid) throw res.error;
        return fn;
      },
      unwrap: (r) => r,
    },
    bufbuild: {
      input: speedInput(timestampFromDate(NOW)),
      // "prepare" = parse + plan (the public API has no separate type-check step).
      prepare(src) {
        return bufPlan(bufEnv, bufParse(src));
      },
      unwrap(r) {
        if (isCelError(r)) throw r;
        return r;
      },
    },
  };
}

/**
 * Times `work[lib](n)` (which performs n operations) for both libraries. After a warm-up that
 * also sizes the rounds, rounds are interleaved (A B, B A, A B, ...) so that background load
 * hits both libraries alike. Returns {[lib]: {ns: median ns/op, n: operations per round}}.
 */
function timeInterleaved(work, { warmup, warmupMs, min, max, targetNs }) {
  const n = {};
  const samples = {};
  const chunk = Math.max(1, Math.ceil(warmup / 40));
  for (const lib of LIBS) {
    const w0 = process.hrtime.bigint();
    const wEnd = w0 + BigInt(warmupMs * 1e6);
    let done = 0;
    while (done < warmup) {
      work[lib](chunk);
      done += chunk;
      if (process.hrtime.bigint() > wEnd) break;
    }
    const estNs = Number(process.hrtime.bigint() - w0) / done;
    n[lib] = Math.max(min, Math.min(max, Math.floor(targetNs / estNs)));
    samples[lib] = [];
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const lib of r % 2 ? [...LIBS].reverse() : LIBS) {
      const t0 = process.hrtime.bigint();
      work[lib](n[lib]);
      samples[lib].push(Number(process.hrtime.bigint() - t0) / n[lib]);
    }
  }
  return Object.fromEntries(LIBS.map((lib) => [lib, { ns: median(samples[lib]), n: n[lib] }]));
}

function runSpeed() {
  const engines = makeSpeedEngines();
  const rows = [];
  let sinkTotal = 0;
  // Global JIT warm-up: cycle through every expression (prepare + eval) for both libraries so
  // that the first expression measured does not pay for compiling the parser/checker.
  for (const lib of LIBS) {
    const end = Date.now() + GLOBAL_WARMUP_MS;
    while (Date.now() < end) {
      for (const src of SPEED_EXPRESSIONS) {
        try {
          const fn = engines[lib].prepare(src);
          for (let i = 0; i < 50; i++) if (fn(engines[lib].input) === true) sinkTotal++;
        } catch {
          // reported by the correctness check below
        }
      }
    }
  }
  for (const src of SPEED_EXPRESSIONS) {
    const row = { src, results: {}, prepNs: {}, evalNs: {}, roundSize: {}, error: null };
    const fns = {};
    // Correctness first: both libraries must agree on a boolean result.
    for (const lib of LIBS) {
      try {
        fns[lib] = engines[lib].prepare(src);
        row.results[lib] = engines[lib].unwrap(fns[lib](engines[lib].input));
      } catch (e) {
        row.results[lib] = `error: ${String(e?.message ?? e).split('\n')[0]}`;
      }
    }
    row.agree =
      typeof row.results.celjs === 'boolean' && row.results.celjs === row.results.bufbuild;
    if (!row.agree) {
      row.error = `results differ: cel-js=${row.results.celjs} bufbuild=${row.results.bufbuild}`;
      rows.push(row);
      continue; // not timed: comparing speed of different answers is meaningless
    }
    const prepWork = {};
    const evalWork = {};
    for (const lib of LIBS) {
      const { prepare, input } = engines[lib];
      const fn = fns[lib];
      prepWork[lib] = (k) => {
        for (let i = 0; i < k; i++) prepare(src);
      };
      evalWork[lib] = (k) => {
        let hits = 0;
        for (let i = 0; i < k; i++) if (fn(input) === true) hits++;
        sinkTotal += hits; // keeps the results observable
      };
    }
    const prep = timeInterleaved(prepWork, {
      warmup: PREP_WARMUP,
      warmupMs: 2_000,
      min: PREP_ROUND_MIN,
      max: PREP_ROUND_MAX,
      targetNs: PREP_ROUND_TARGET_NS,
    });
    const ev = timeInterleaved(evalWork, {
      warmup: EVAL_WARMUP,
      warmupMs: EVAL_WARMUP_MS,
      min: EVAL_ROUND_MIN,
      max: EVAL_ROUND,
      targetNs: EVAL_ROUND_TARGET_NS,
    });
    for (const lib of LIBS) {
      row.prepNs[lib] = prep[lib].ns;
      row.evalNs[lib] = ev[lib].ns;
      row.roundSize[lib] = ev[lib].n;
    }
    rows.push(row);
  }
  return { rows, sinkTotal };
}

// ---------------------------------------------------------------------------
// 2. Conformance: loading, skip criteria (shared by both libraries), value conversion
// ---------------------------------------------------------------------------

/** Flattens the suite into [{file, section, name, t}] in a deterministic order. */
async function loadConformance() {
  // Raw JSON form (proto3 JSON of cel.expr.conformance.test.SimpleTest) of the cel-spec
  // "simple" test files; each top-level suite is one upstream *.textproto file.
  const { tests } = await import('@bufbuild/cel-spec/testdata/conformance.js');
  const out = [];
  const files = [];
  for (const file of tests.suites ?? []) {
    files.push(file.name);
    const walk = (suite, section) => {
      for (const t of suite.tests ?? []) {
        out.push({ file: file.name, section, name: t.original.name, t: t.original });
      }
      for (const s of suite.suites ?? []) walk(s, s.name);
    };
    walk(file, '');
  }
  return { files, tests: out };
}

/** Proto JSON cel.expr.Value -> neutral tagged value {k, v}. Throws Unsupported. */
function fromProtoValue(pv) {
  if (pv == null || typeof pv !== 'object') throw new Unsupported('empty value');
  if ('nullValue' in pv) return { k: 'null', v: null };
  if ('boolValue' in pv) return { k: 'bool', v: Boolean(pv.boolValue) };
  if ('int64Value' in pv) return { k: 'int', v: BigInt(pv.int64Value) };
  if ('uint64Value' in pv) return { k: 'uint', v: BigInt(pv.uint64Value) };
  if ('doubleValue' in pv) return { k: 'double', v: Number(pv.doubleValue) };
  if ('stringValue' in pv) return { k: 'string', v: String(pv.stringValue) };
  if ('bytesValue' in pv) {
    return { k: 'bytes', v: new Uint8Array(Buffer.from(pv.bytesValue, 'base64')) };
  }
  if ('listValue' in pv) {
    return { k: 'list', v: (pv.listValue.values ?? []).map(fromProtoValue) };
  }
  if ('mapValue' in pv) {
    return {
      k: 'map',
      v: (pv.mapValue.entries ?? []).map((e) => [fromProtoValue(e.key), fromProtoValue(e.value)]),
    };
  }
  if ('typeValue' in pv) return { k: 'type', v: String(pv.typeValue) };
  if ('objectValue' in pv) throw new Unsupported('protobuf message value');
  if ('enumValue' in pv) throw new Unsupported('protobuf enum value');
  throw new Unsupported(`unknown value kind ${Object.keys(pv).join(',')}`);
}

/** cel.expr.Type (proto JSON) -> neutral type descriptor. Throws Unsupported. */
function fromProtoType(t) {
  if (t == null || typeof t !== 'object') throw new Unsupported('empty type');
  if ('primitive' in t) {
    const p = {
      BOOL: 'bool',
      INT64: 'int',
      UINT64: 'uint',
      DOUBLE: 'double',
      STRING: 'string',
      BYTES: 'bytes',
    }[t.primitive];
    if (!p) throw new Unsupported(`primitive ${t.primitive}`);
    return { k: p };
  }
  if ('null' in t) return { k: 'null_type' };
  if ('dyn' in t) return { k: 'dyn' };
  if ('listType' in t) return { k: 'list', elem: fromProtoType(t.listType.elemType) };
  if ('mapType' in t) {
    return {
      k: 'map',
      key: fromProtoType(t.mapType.keyType),
      val: fromProtoType(t.mapType.valueType),
    };
  }
  throw new Unsupported(`type ${Object.keys(t).join(',')}`);
}

// Message construction / proto-only identifiers that neither harness can feed to a library
// without the conformance .proto descriptors and a container.
const PROTO_EXPR_RE =
  /TestAllTypes|NestedMessage|NestedEnum|GlobalEnum|TestRequired|cel\.expr\.conformance|google\.protobuf\.\w+\s*\{/;

/**
 * Decides once, for both libraries alike, whether a test can be run, and prepares the
 * library-neutral inputs. Returns {skip: reason} or {expect, bindings, decls}.
 */
function prepareTest(t) {
  if (t.checkOnly) return { skip: 'check-only (static type deduction, no value)' };
  if (t.container) return { skip: 'needs a container (proto package name resolution)' };
  if (PROTO_EXPR_RE.test(t.expr)) return { skip: 'expression uses protobuf message/enum types' };
  let expect;
  const bindings = {};
  const decls = [];
  try {
    if (t.evalError || t.anyEvalErrors) expect = { error: true };
    else if (t.value) expect = { value: fromProtoValue(t.value) };
    else if (t.typedResult?.result) expect = { value: fromProtoValue(t.typedResult.result) };
    else if (t.unknown || t.anyUnknowns) return { skip: 'expects unknown-value results' };
    // simple.proto: with no result matcher the expected result is the boolean `true`.
    else expect = { value: { k: 'bool', v: true } };
    for (const [name, ev] of Object.entries(t.bindings ?? {})) {
      if (!ev.value) throw new Unsupported('non-value binding');
      const v = fromProtoValue(ev.value);
      if (containsKind(v, 'type')) throw new Unsupported('type-valued binding');
      bindings[name] = v;
    }
  } catch (e) {
    if (e instanceof Unsupported)
      return { skip: 'protobuf message/enum values in bindings or result' };
    throw e;
  }
  try {
    for (const d of t.typeEnv ?? []) {
      if (!d.ident) throw new Unsupported('function declaration');
      decls.push({ name: d.name, type: fromProtoType(d.ident.type) });
    }
  } catch (e) {
    if (e instanceof Unsupported) return { skip: 'type-env declares message types or functions' };
    throw e;
  }
  return { expect, bindings, decls, disableCheck: Boolean(t.disableCheck) };
}

function containsKind(v, kind) {
  if (v.k === kind) return true;
  if (v.k === 'list') return v.v.some((x) => containsKind(x, kind));
  if (v.k === 'map') return v.v.some(([a, b]) => containsKind(a, kind) || containsKind(b, kind));
  return false;
}

/** Neutral value equality with CEL test semantics (NaN == NaN, order-free maps). */
function neutralEq(exp, act) {
  if (exp.k !== act.k) return false;
  switch (exp.k) {
    case 'double':
      return exp.v === act.v || (Number.isNaN(exp.v) && Number.isNaN(act.v));
    case 'bytes':
      return exp.v.length === act.v.length && exp.v.every((b, i) => b === act.v[i]);
    case 'list':
      return exp.v.length === act.v.length && exp.v.every((x, i) => neutralEq(x, act.v[i]));
    case 'map': {
      if (exp.v.length !== act.v.length) return false;
      return exp.v.every(([ek, ev]) => {
        const hit = act.v.find(([ak]) =>
          // A plain JS object result can only carry string keys; match on the key's text.
          act.looseKeys ? ak.v === String(ek.v) : neutralEq(ek, ak),
        );
        return hit !== undefined && neutralEq(ev, hit[1]);
      });
    }
    default:
      return exp.v === act.v;
  }
}

// ---- cel-js adapters -------------------------------------------------------

function celjsTypeName(t) {
  switch (t.k) {
    case 'list':
      return `list<${celjsTypeName(t.elem)}>`;
    case 'map':
      return `map<${celjsTypeName(t.key)}, ${celjsTypeName(t.val)}>`;
    case 'null_type':
      return 'null'; // cel-js spells the null type "null"
    default:
      return t.k;
  }
}

function toCeljs(v) {
  switch (v.k) {
    case 'uint':
      return new CELJS_UINT(v.v);
    case 'list':
      return v.v.map(toCeljs);
    case 'map': {
      if (v.v.every(([k]) => k.k === 'string')) {
        return Object.fromEntries(v.v.map(([k, x]) => [k.v, toCeljs(x)]));
      }
      return new Map(v.v.map(([k, x]) => [toCeljs(k), toCeljs(x)]));
    }
    default:
      return v.v;
  }
}

function fromCeljs(x) {
  if (x === null) return { k: 'null', v: null };
  switch (typeof x) {
    case 'bigint':
      return { k: 'int', v: x };
    case 'number':
      return { k: 'double', v: x };
    case 'string':
      return { k: 'string', v: x };
    case 'boolean':
      return { k: 'bool', v: x };
  }
  if (x instanceof CELJS_UINT) return { k: 'uint', v: BigInt(x.valueOf()) };
  if (x instanceof CELJS_TYPE) return { k: 'type', v: String(x.name) };
  if (x instanceof Uint8Array) return { k: 'bytes', v: x };
  if (Array.isArray(x)) return { k: 'list', v: x.map(fromCeljs) };
  if (x instanceof Map)
    return { k: 'map', v: [...x].map(([a, b]) => [fromCeljs(a), fromCeljs(b)]) };
  if (typeof x === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(x))) {
    return {
      k: 'map',
      looseKeys: true,
      v: Object.entries(x).map(([a, b]) => [{ k: 'string', v: a }, fromCeljs(b)]),
    };
  }
  return { k: 'other', v: String(x?.constructor?.name ?? typeof x) };
}

function makeCeljsRunner() {
  const opts = {
    unlistedVariablesAreDyn: true,
    homogeneousAggregateLiterals: false,
    enableOptionalTypes: true,
  };
  const base = new Environment(opts);
  return (p, expr) => {
    let env = base;
    if (p.decls.length) {
      env = new Environment(opts);
      for (const d of p.decls) env.registerVariable(d.name, celjsTypeName(d.type));
    }
    const ctx = {};
    for (const [k, v] of Object.entries(p.bindings)) ctx[k] = toCeljs(v);
    try {
      const r = env.evaluate(expr, ctx);
      if (r && typeof r.then === 'function') return { error: 'returned a Promise' };
      return { value: fromCeljs(r) };
    } catch (e) {
      return { error: String(e?.message ?? e).split('\n')[0] };
    }
  };
}

// ---- @bufbuild/cel adapters ------------------------------------------------

function bufType(t) {
  switch (t.k) {
    case 'bool':
      return CelScalar.BOOL;
    case 'int':
      return CelScalar.INT;
    case 'uint':
      return CelScalar.UINT;
    case 'double':
      return CelScalar.DOUBLE;
    case 'string':
      return CelScalar.STRING;
    case 'bytes':
      return CelScalar.BYTES;
    case 'null_type':
      return CelScalar.NULL;
    case 'dyn':
      return CelScalar.DYN;
    case 'list':
      return listType(bufType(t.elem));
    case 'map':
      return mapType(bufType(t.key), bufType(t.val));
  }
  throw new Unsupported(t.k);
}

function toBuf(v) {
  switch (v.k) {
    case 'uint':
      return celUint(v.v);
    case 'list':
      return v.v.map(toBuf);
    case 'map':
      return new Map(v.v.map(([k, x]) => [toBuf(k), toBuf(x)]));
    default:
      return v.v;
  }
}

function fromBuf(x) {
  if (x === null) return { k: 'null', v: null };
  switch (typeof x) {
    case 'bigint':
      return { k: 'int', v: x };
    case 'number':
      return { k: 'double', v: x };
    case 'string':
      return { k: 'string', v: x };
    case 'boolean':
      return { k: 'bool', v: x };
  }
  if (isCelUint(x)) return { k: 'uint', v: x.value };
  if (isCelType(x)) return { k: 'type', v: String(x.name) };
  if (x instanceof Uint8Array) return { k: 'bytes', v: x };
  if (isCelList(x)) return { k: 'list', v: [...x].map(fromBuf) };
  if (isCelMap(x))
    return { k: 'map', v: [...x.entries()].map(([a, b]) => [fromBuf(a), fromBuf(b)]) };
  return { k: 'other', v: String(x?.constructor?.name ?? typeof x) };
}

function makeBufRunner() {
  const base = celEnv({ funcs: bufStrings });
  return (p, expr) => {
    try {
      let env = base;
      if (p.decls.length) {
        const variables = {};
        for (const d of p.decls) variables[d.name] = bufType(d.type);
        env = celEnv({ funcs: bufStrings, variables });
      }
      const ctx = {};
      for (const [k, v] of Object.entries(p.bindings)) ctx[k] = toBuf(v);
      const r = bufPlan(env, bufParse(expr))(ctx);
      if (isCelError(r)) return { error: String(r.message).split('\n')[0] };
      return { value: fromBuf(r) };
    } catch (e) {
      return { error: String(e?.message ?? e).split('\n')[0] };
    }
  };
}

function judge(p, res) {
  if (p.expect.error) return res.error !== undefined ? 'pass' : 'fail';
  if (res.error !== undefined) return 'fail';
  return neutralEq(p.expect.value, res.value) ? 'pass' : 'fail';
}

// ---- worker side -------------------------------------------------------------

async function workerMain() {
  const { lib, start } = workerData;
  const { tests } = await loadConformance();
  const run = lib === 'celjs' ? makeCeljsRunner() : makeBufRunner();
  parentPort.postMessage({ type: 'ready' });
  for (let i = start; i < tests.length; i++) {
    const p = prepareTest(tests[i].t);
    if (p.skip) continue;
    parentPort.postMessage({ type: 'start', i });
    let outcome;
    let detail = '';
    try {
      const res = run(p, tests[i].t.expr);
      outcome = judge(p, res);
      if (outcome === 'fail') detail = res.error ?? `got ${JSON.stringify(res.value, jsonSafe)}`;
    } catch (e) {
      outcome = 'fail';
      detail = `harness: ${e?.message ?? e}`;
    }
    // One message per test, so nothing is lost if the watchdog terminates this worker.
    parentPort.postMessage({ type: 'result', i, outcome, detail: detail.slice(0, 200) });
  }
  parentPort.postMessage({ type: 'done' });
}

function jsonSafe(_k, v) {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return `bytes(${v.length})`;
  return v;
}

// ---- main side: run one library's tests with a watchdog ------------------------

function runConformanceFor(lib, total) {
  const outcomes = new Map(); // index -> {outcome, detail}
  const deadline = Date.now() + CONFORMANCE_BUDGET_MS;
  const timeouts = [];
  return new Promise((resolve) => {
    const launch = (start) => {
      if (start >= total || Date.now() > deadline) return resolve({ outcomes, timeouts });
      const w = new Worker(SCRIPT, { workerData: { lib, start } });
      let current = -1;
      let lastBeat = Date.now();
      let ready = false;
      let finished = false;
      const finish = (next) => {
        if (finished) return;
        finished = true;
        clearInterval(timer);
        w.terminate().finally(() =>
          next === null ? resolve({ outcomes, timeouts }) : launch(next),
        );
      };
      const timer = setInterval(() => {
        const limit = ready ? TEST_TIMEOUT_MS : WORKER_READY_TIMEOUT_MS;
        if (Date.now() - lastBeat < limit && Date.now() < deadline) return;
        if (current >= 0 && !outcomes.has(current)) {
          outcomes.set(current, { outcome: 'fail', detail: `timeout after ${TEST_TIMEOUT_MS} ms` });
          timeouts.push(current);
        }
        finish(Date.now() < deadline && current >= 0 ? current + 1 : null);
      }, 100);
      w.on('message', (m) => {
        lastBeat = Date.now();
        if (m.type === 'ready') ready = true;
        else if (m.type === 'start') current = m.i;
        else if (m.type === 'result') outcomes.set(m.i, m);
        else if (m.type === 'done') finish(null);
      });
      w.on('error', (e) => {
        // An uncaught crash inside the worker: count the running test as failed, continue.
        if (current >= 0 && !outcomes.has(current)) {
          outcomes.set(current, { outcome: 'fail', detail: `worker crash: ${e?.message ?? e}` });
        }
        finish(current >= 0 ? current + 1 : null);
      });
      w.on('exit', () => finish(null));
    };
    launch(0);
  });
}

async function runConformance() {
  const { files, tests } = await loadConformance();
  const prepared = tests.map((x) => prepareTest(x.t));
  const [celjs, bufbuild] = await Promise.all(
    LIBS.map((lib) => runConformanceFor(lib, tests.length)),
  );
  const byLib = { celjs, bufbuild };

  const perFile = new Map(files.map((f) => [f, { tests: 0, skipped: 0, celjs: 0, bufbuild: 0 }]));
  const skipReasons = new Map();
  const notRun = { celjs: 0, bufbuild: 0 };
  tests.forEach((x, i) => {
    const row = perFile.get(x.file);
    row.tests++;
    if (prepared[i].skip) {
      row.skipped++;
      const r = (skipReasons.get(prepared[i].skip) ?? 0) + 1;
      skipReasons.set(prepared[i].skip, r);
      return;
    }
    for (const lib of LIBS) {
      const o = byLib[lib].outcomes.get(i);
      if (!o) notRun[lib]++;
      else if (o.outcome === 'pass') row[lib]++;
    }
  });
  return {
    perFile,
    skipReasons,
    notRun,
    timeouts: { celjs: byLib.celjs.timeouts.length, bufbuild: byLib.bufbuild.timeouts.length },
    failures: Object.fromEntries(
      LIBS.map((lib) => [
        lib,
        [...byLib[lib].outcomes]
          .filter(([, o]) => o.outcome === 'fail')
          .map(([i, o]) => ({ file: tests[i].file, name: tests[i].name, detail: o.detail })),
      ]),
    ),
  };
}

// ---------------------------------------------------------------------------
// 3. Report
// ---------------------------------------------------------------------------

function pkgVersion(specifier) {
  let dir = path.dirname(fileURLToPath(import.meta.resolve(specifier)));
  for (;;) {
    const f = path.join(dir, 'package.json');
    if (existsSync(f)) {
      const pkg = JSON.parse(readFileSync(f, 'utf8'));
      if (pkg.name && pkg.version) return pkg;
    }
    const up = path.dirname(dir);
    if (up === dir) return { version: 'unknown' };
    dir = up;
  }
}

const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
const fmtNs = (n) => (n >= 100 ? fmtInt(n) : n.toFixed(1));
const fmtUs = (ns) => (ns / 1000).toFixed(ns >= 100_000 ? 0 : 1);
const pct = (a, b) => (b ? `${((100 * a) / b).toFixed(1)}%` : 'n/a');

/** Markdown table with Prettier-compatible padding. align: "l" | "r" per column. */
function table(header, rows, align) {
  const all = [header, ...rows].map((r) => r.map(String));
  const width = header.map((_, c) => Math.max(3, ...all.map((r) => r[c].length)));
  const cell = (s, c) => (align[c] === 'r' ? s.padStart(width[c]) : s.padEnd(width[c]));
  const line = (r) => `| ${r.map(cell).join(' | ')} |`;
  const sep = `| ${width
    .map((w, c) => (align[c] === 'r' ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w)))
    .join(' | ')} |`;
  return [line(all[0]), sep, ...all.slice(1).map(line)].join('\n');
}

function buildReport({ speed, conf, elapsedMs, loadAtStart }) {
  const celjsPkg = pkgVersion('@marcbachmann/cel-js');
  const bufPkg = pkgVersion('@bufbuild/cel');
  const specPkg = pkgVersion('@bufbuild/cel-spec/testdata/tests.js');
  const timed = speed.rows.filter((r) => r.agree);
  const evalRatio = geomean(timed.map((r) => r.evalNs.bufbuild / r.evalNs.celjs));
  const prepRatio = geomean(timed.map((r) => r.prepNs.bufbuild / r.prepNs.celjs));
  const allAgree = speed.rows.every((r) => r.agree);
  const shrunk = speed.rows
    .map((r, i) => [i + 1, r])
    .filter(([, r]) => r.agree && LIBS.some((lib) => r.roundSize[lib] < EVAL_ROUND))
    .map(
      ([i, r]) =>
        `#${i}: ${LIBS.map((lib) => `${LIB_LABEL[lib]} ${fmtInt(r.roundSize[lib])}`).join(', ')}`,
    );
  const shrunkNote = shrunk.length ? ` - ${shrunk.join('; ')} per round` : '';

  const speedRows = speed.rows.map((r, i) => [
    i + 1,
    `\`${r.src}\``,
    r.agree ? `${r.results.celjs}` : `MISMATCH ${r.results.celjs} / ${r.results.bufbuild}`,
    r.agree ? fmtUs(r.prepNs.celjs) : '-',
    r.agree ? fmtUs(r.prepNs.bufbuild) : '-',
    r.agree ? fmtNs(r.evalNs.celjs) : '-',
    r.agree ? fmtInt(1e9 / r.evalNs.celjs) : '-',
    r.agree ? fmtNs(r.evalNs.bufbuild) : '-',
    r.agree ? fmtInt(1e9 / r.evalNs.bufbuild) : '-',
    r.agree ? `${(r.evalNs.bufbuild / r.evalNs.celjs).toFixed(2)}x` : '-',
  ]);

  let tot = { tests: 0, skipped: 0, celjs: 0, bufbuild: 0 };
  const covRows = [];
  for (const [file, r] of conf.perFile) {
    covRows.push([file, r.tests, r.celjs, r.bufbuild, r.skipped]);
    for (const k of Object.keys(tot)) tot[k] += r[k];
  }
  const runnable = tot.tests - tot.skipped;
  covRows.push([
    '**total**',
    `**${tot.tests}**`,
    `**${tot.celjs}** (${pct(tot.celjs, runnable)})`,
    `**${tot.bufbuild}** (${pct(tot.bufbuild, runnable)})`,
    `**${tot.skipped}**`,
  ]);

  const fasterEval = evalRatio >= 1 ? 'cel-js' : 'bufbuild';
  const evalFactor = evalRatio >= 1 ? evalRatio : 1 / evalRatio;
  const prepFaster = prepRatio >= 1 ? 'cel-js' : 'bufbuild';
  const prepFactor = prepRatio >= 1 ? prepRatio : 1 / prepRatio;
  const moreCov =
    tot.celjs === tot.bufbuild ? 'neither (tie)' : tot.celjs > tot.bufbuild ? 'cel-js' : 'bufbuild';

  const L = [];
  L.push('# CEL library comparison: @marcbachmann/cel-js vs @bufbuild/cel', '');
  L.push(`- Date: ${new Date().toISOString()}`);
  L.push(`- Node: ${process.version} (${process.platform}/${process.arch})`);
  L.push(`- CPU: ${os.cpus()[0]?.model ?? 'unknown'} (${os.cpus().length} logical cores)`);
  L.push(
    `- Load average at start (1/5/15 min): ${loadAtStart.map((x) => x.toFixed(2)).join(' / ')}`,
  );
  L.push(`- @marcbachmann/cel-js: ${celjsPkg.version}`);
  L.push(`- @bufbuild/cel: ${bufPkg.version}`);
  L.push(
    `- @bufbuild/cel-spec: ${specPkg.version} (cel-spec ${specPkg.upstreamCelSpecRef ?? '?'} conformance data)`,
  );
  L.push(
    `- Command: \`node bench/cel-compare.js\` (total run time ${(elapsedMs / 1000).toFixed(1)} s)`,
  );
  L.push('');
  L.push('## Speed', '');
  L.push(
    `Prepare = cel-js \`env.parse(src)\` + \`.check()\`; bufbuild \`plan(env, parse(src))\` ` +
      `(median of ${ROUNDS} rounds of ${PREP_ROUND_MIN}-${fmtInt(PREP_ROUND_MAX)} prepares sized to ` +
      `~${PREP_ROUND_TARGET_NS / 1e6} ms, after ${PREP_WARMUP} warm-up). ` +
      `Eval = calling the prepared form on the same input (median of ${ROUNDS} rounds x ` +
      `${fmtInt(EVAL_ROUND)} evaluations, after ${fmtInt(EVAL_WARMUP)} warm-up; rounds are ` +
      `shrunk to ~${EVAL_ROUND_TARGET_NS / 1e6} ms for slow expressions${shrunkNote}). ` +
      `ratio = bufbuild ns/op / cel-js ns/op (>1: cel-js faster).`,
    '',
  );
  L.push(
    table(
      [
        '#',
        'expression',
        'result',
        'cel-js prep us',
        'buf prep us',
        'cel-js ns/op',
        'cel-js ops/s',
        'buf ns/op',
        'buf ops/s',
        'ratio',
      ],
      speedRows,
      ['r', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  );
  L.push('');
  L.push(
    `Both libraries returned identical booleans for ${speed.rows.filter((r) => r.agree).length}/${speed.rows.length} expressions` +
      (allAgree ? ' (asserted before timing).' : ' - MISMATCHES above were not timed.'),
  );
  L.push(
    `Geometric-mean ratio (bufbuild time / cel-js time): eval **${evalRatio.toFixed(2)}x**, prepare **${prepRatio.toFixed(2)}x**.`,
  );
  L.push('');
  L.push('## Spec coverage (cel-spec conformance simple tests)', '');
  L.push(
    'A test passes when the result equals the expected value (or an error was expected and the ' +
      'library threw / returned an error). Skip criteria are decided once per test and apply to both libraries.',
    '',
  );
  L.push(
    table(['file', 'tests', 'cel-js pass', 'bufbuild pass', 'skipped'], covRows, [
      'l',
      'r',
      'r',
      'r',
      'r',
    ]),
  );
  L.push('');
  L.push(`Runnable (non-skipped) tests: ${runnable}. Skip reasons:`, '');
  for (const [reason, n] of [...conf.skipReasons].sort((a, b) => b[1] - a[1])) {
    L.push(`- ${reason}: ${n}`);
  }
  L.push('');
  L.push(
    `Timeouts (> ${TEST_TIMEOUT_MS} ms, counted as fail): cel-js ${conf.timeouts.celjs}, bufbuild ${conf.timeouts.bufbuild}. ` +
      `Not run (budget exhausted): cel-js ${conf.notRun.celjs}, bufbuild ${conf.notRun.bufbuild}.`,
  );
  L.push(
    'Configuration: cel-js `Environment({unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false, enableOptionalTypes: true})`; ' +
      'bufbuild `celEnv({funcs: strings})` (its only shipped extension). Type-env identifiers are declared in both. ' +
      'cel-js type-checks every expression before evaluating; bufbuild runs parse + plan only (0.6.1 exports no checker), ' +
      'so its type errors surface at evaluation time.',
  );
  L.push('');
  L.push('## Conclusion', '');
  L.push(
    `1. Evaluation: **${fasterEval}** is faster, by a geometric-mean factor of **${evalFactor.toFixed(2)}x** over ${timed.length} policy expressions.`,
  );
  L.push(
    `2. Prepare (parse+check / parse+plan): **${prepFaster}** is faster by **${prepFactor.toFixed(2)}x** (geometric mean).`,
  );
  L.push(
    `3. Spec coverage: **${moreCov}** covers more - cel-js ${tot.celjs}/${runnable} (${pct(tot.celjs, runnable)}) vs bufbuild ${tot.bufbuild}/${runnable} (${pct(tot.bufbuild, runnable)}) of the runnable conformance tests (${tot.skipped} skipped for both).`,
  );
  L.push('');
  return L.join('\n');
}

async function main() {
  const t0 = Date.now();
  const loadAtStart = os.loadavg();
  const speed = runSpeed();
  const conf = await runConformance();
  const md = buildReport({ speed, conf, elapsedMs: Date.now() - t0, loadAtStart });
  mkdirSync(path.dirname(OUT_FILE), { recursive: true });
  writeFileSync(OUT_FILE, md);
  process.stdout.write(md);
  if (process.env.CEL_COMPARE_FAILURES) {
    for (const lib of LIBS) {
      console.error(`\n## ${LIB_LABEL[lib]} failures (${conf.failures[lib].length})`);
      for (const f of conf.failures[lib]) console.error(`${f.file} / ${f.name}: ${f.detail}`);
    }
  }
  if (!speed.rows.every((r) => r.agree)) process.exitCode = 1;
}

if (isMainThread) {
  await main();
} else {
  await workerMain();
}
