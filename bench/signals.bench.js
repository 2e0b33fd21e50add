#!/usr/bin/env node
// In-process decisions reading risk signals (issue 13): the example policies/ (whose
// stepgate.yaml declares failed_logins and new_device, read by policies/api/risk-step-up.yaml
// on every request) with an agent-core SignalStore holding values for 10,000 subjects, fed one
// stepgate.signals/v1 snapshot as the agent's sync would after verifying it. Each decision
// looks up its principal's values (SignalStore.valuesFor) and passes them to the engine, as the
// decision point does; the same requests decided without signals are the comparison, timed in
// interleaved rounds so both see the same load from other processes.
// Part of `npm run bench` (bench/run.js); alone: `node bench/signals.bench.js [--quick]` or
// `node bench/run.js --only signals`, after `npx tsc -b tsconfig.build.json`.
// Knobs: BENCH_SIGNAL_SUBJECTS=10000  BENCH_ROUNDS  BENCH_DECISIONS (per round and variant).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import YAML from 'yaml';
import {
  BundleStore,
  DecisionPoint,
  LogBuffer,
  SignalStore,
  TrustStore,
} from '@stepgate/agent-core';
import { compile, isPolicyFilePath, PolicyEngine } from '@stepgate/policy';
import {
  bundleHashOf,
  generateSigningKey,
  importSigningKey,
  signBundle,
  SIGNALS_FORMAT,
  toJwks,
} from '@stepgate/protocol';
import { isEntryModule, runAlone } from './report/standalone.js';

const REPO_ROOT = join(import.meta.dirname, '..');
const POLICY_DIR = join(REPO_ROOT, 'policies');
const TARGET_P99_MICROS = 50;
/** The evaluation time of the example tests (a Monday, 10:00 UTC). */
const NOW = new Date('2026-11-23T10:00:00Z');

function settingsFor(quick) {
  return {
    subjects: Number(process.env.BENCH_SIGNAL_SUBJECTS ?? 10_000),
    rounds: Number(process.env.BENCH_ROUNDS ?? (quick ? 5 : 7)),
    // Six timed loops per round (two variants, throughput and latency; the engine alone):
    // 7 x 12,000 keeps a full run near 30 s on a lightly loaded machine.
    decisionsPerRound: Number(process.env.BENCH_DECISIONS ?? (quick ? 6_000 : 12_000)),
    warmup: quick ? 10_000 : 20_000,
  };
}

/** Every policy file of the example repository, as the control plane reads a commit. */
function readPolicyDir(dir) {
  const files = [];
  const walk = (at) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      const rel = relative(dir, path).split(sep).join('/');
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && isPolicyFilePath(rel))
        files.push({ path: rel, content: readFileSync(path, 'utf8') });
    }
  };
  walk(dir);
  return files;
}

/**
 * The inputs of every example test case, the principal replaced by one of `subjects` (one in
 * ten by a principal holding no signals); each with the case's `auth` as verified evidence.
 */
function makeRequests(files, subjects) {
  const templates = [];
  for (const file of files.filter((f) => f.path.endsWith('.test.yaml')))
    for (const testCase of YAML.parse(file.content).cases ?? []) {
      const { principal, action, resource, context, actionAttributes, auth } = testCase.input;
      templates.push({
        request: {
          principal,
          action,
          resource,
          ...(context ? { context } : {}),
          ...(actionAttributes ? { actionAttributes } : {}),
        },
        evidence: auth,
      });
    }
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: 8192 }, () => {
    const { request, evidence } = templates[Math.floor(random() * templates.length)];
    const id =
      random() < 0.1
        ? `nobody-${Math.floor(random() * 1000)}`
        : subjects[Math.floor(random() * subjects.length)];
    return { request: { ...request, principal: { ...request.principal, id } }, evidence };
  });
}

/** Values for every subject: 0-5 failed logins, one in five on a new device. */
function snapshotPayload(subjects, nowMs) {
  const values = [];
  let seq = 0;
  subjects.forEach((subject, i) => {
    const expiresAt = nowMs + 3_600_000;
    values.push({ subject, name: 'failed_logins', value: i % 6, expiresAt, seq: ++seq });
    values.push({ subject, name: 'new_device', value: i % 5 === 0, expiresAt, seq: ++seq });
  });
  return {
    format: SIGNALS_FORMAT,
    snapshot: true,
    seq,
    values,
    issuedAt: new Date(nowMs).toISOString(),
  };
}

/**
 * A decision point as the agent builds it (bundle store holding the set, signed and verified;
 * a log buffer recording every decision), reading `signals` when given a store.
 */
async function decisionPoint(policySet, signals, nowMs) {
  const generated = await generateSigningKey();
  const key = await importSigningKey(generated.privateJwk);
  const clock = { now: () => nowMs };
  const store = new BundleStore({
    trust: TrustStore.fromJwks(toJwks([generated.publicJwk])),
    clock,
  });
  const jws = await signBundle(
    {
      format: 'stepgate.bundle/v1',
      kind: 'active',
      revision: 1,
      version: {
        id: 'v1',
        number: 1,
        sha: '1'.padStart(40, '0'),
        branch: 'main',
        committedAt: NOW.toISOString(),
      },
      rollback: false,
      issuedAt: NOW.toISOString(),
      bundleHash: await bundleHashOf(policySet),
      policySet,
    },
    { kid: key.kid, privateKey: key.privateKey },
  );
  const offered = await store.offer('active', jws, { source: 'local' });
  if (!offered.applied) throw new Error(`the bench bundle was refused: ${offered.reason}`);
  return new DecisionPoint({
    store,
    clock,
    // The agent's default capacity; when full, a record overwrites the oldest at the same cost.
    logs: new LogBuffer(),
    ...(signals ? { signals } : {}),
  });
}

const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];

/** @param {import('./report/section.js').BenchRunOptions} options */
export async function run({ quick, log }) {
  const cfg = settingsFor(quick);
  const files = readPolicyDir(POLICY_DIR);
  const result = compile(files.filter((f) => !f.path.endsWith('.test.yaml')));
  if (!result.ok)
    throw new Error(`policies/ does not compile: ${JSON.stringify(result.errors).slice(0, 1000)}`);
  const declared = Object.keys(result.policySet.settings.signals ?? {});
  for (const name of ['failed_logins', 'new_device'])
    if (!declared.includes(name))
      throw new Error(
        `policies/stepgate.yaml declares no signal ${name} (signals: ${JSON.stringify(declared)})`,
      );
  const engine = new PolicyEngine(result.policySet);
  const policies = result.policySet.policies.length;
  const rules = result.policySet.policies.reduce((n, p) => n + p.rules.length, 0);

  const nowMs = NOW.getTime();
  const subjects = Array.from({ length: cfg.subjects }, (_, i) => `user-${i}@example.com`);
  const heapBefore = process.memoryUsage().heapUsed;
  const store = new SignalStore({ clock: { now: () => nowMs } });
  const applied = store.apply(snapshotPayload(subjects, nowMs), nowMs);
  globalThis.gc?.();
  const storeMiB = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
  if (store.subjectCount !== cfg.subjects)
    throw new Error(`the store holds ${store.subjectCount} subjects, not ${cfg.subjects}`);
  const requests = makeRequests(files, subjects);
  log(
    `${policies} policies / ${rules} rules; ${store.subjectCount} subjects, ${applied.applied} values; ${cfg.rounds} rounds x ${cfg.decisionsPerRound} decisions per variant`,
  );

  // Through the DecisionPoint (request check, signals read once, decision record logged) when
  // it reads a SignalStore; else the engine with the store's values, as the point passes them.
  const probe = requests.find(
    (r) => store.valuesFor(r.request.principal.id, nowMs)?.failed_logins >= 3,
  );
  const pointWith = await decisionPoint(result.policySet, store, nowMs);
  const pointWithout = await decisionPoint(result.policySet, undefined, nowMs);
  const viaPoint = pointWith
    .decide(probe.request, probe.evidence, { now: NOW })
    .reasons.some((r) => r.policy === 'risk-step-up' && r.rule === 'repeated-failed-logins');
  const engineWith = ({ request, evidence }) => {
    const signals = store.valuesFor(request.principal.id, nowMs);
    return engine.decide(request, evidence, signals ? { now: NOW, signals } : { now: NOW });
  };
  const variants = viaPoint
    ? {
        with: ({ request, evidence }) => pointWith.decide(request, evidence, { now: NOW }),
        without: ({ request, evidence }) => pointWithout.decide(request, evidence, { now: NOW }),
      }
    : {
        with: engineWith,
        without: ({ request, evidence }) => engine.decide(request, evidence, { now: NOW }),
      };
  const path = viaPoint ? 'DecisionPoint.decide' : 'PolicyEngine.decide';
  log(
    viaPoint
      ? 'measuring through the DecisionPoint with its SignalStore'
      : 'the DecisionPoint does not read a SignalStore yet: measuring the engine with the store values',
  );
  const withSignals = variants.with;
  const withoutSignals = variants.without;
  // Through the decision point, the engine's share alone, comparable with the engine part.
  const engineVariants = viaPoint
    ? {
        with: engineWith,
        without: ({ request, evidence }) => engine.decide(request, evidence, { now: NOW }),
      }
    : undefined;

  for (let i = 0; i < cfg.warmup; i++) {
    withSignals(requests[i % requests.length]);
    withoutSignals(requests[i % requests.length]);
  }

  const effects = {
    with: { allow: 0, deny: 0, step_up: 0 },
    without: { allow: 0, deny: 0, step_up: 0 },
  };
  const rates = { with: [], without: [] };
  const samples = {
    with: new Float64Array(cfg.rounds * cfg.decisionsPerRound),
    without: new Float64Array(cfg.rounds * cfg.decisionsPerRound),
  };
  const engineSamples = {
    with: new Float64Array(cfg.rounds * cfg.decisionsPerRound),
    without: new Float64Array(cfg.rounds * cfg.decisionsPerRound),
  };
  const lookups = new Float64Array(cfg.rounds * cfg.decisionsPerRound);
  let n = 0;
  for (let round = 0; round < cfg.rounds; round++) {
    // Alternate which variant goes first, so neither always runs on a warmer cache.
    const order = round % 2 === 0 ? ['with', 'without'] : ['without', 'with'];
    for (const name of order) {
      const decide = variants[name];
      let start = process.hrtime.bigint();
      for (let i = 0; i < cfg.decisionsPerRound; i++)
        effects[name][decide(requests[i % requests.length]).effect]++;
      rates[name].push(cfg.decisionsPerRound / (Number(process.hrtime.bigint() - start) / 1e9));
      for (let i = 0; i < cfg.decisionsPerRound; i++) {
        const item = requests[(i * 7) % requests.length];
        start = process.hrtime.bigint();
        decide(item);
        samples[name][n + i] = Number(process.hrtime.bigint() - start);
      }
    }
    for (const name of engineVariants ? order : []) {
      const decide = engineVariants[name];
      for (let i = 0; i < cfg.decisionsPerRound; i++) {
        const item = requests[(i * 7) % requests.length];
        const start = process.hrtime.bigint();
        decide(item);
        engineSamples[name][n + i] = Number(process.hrtime.bigint() - start);
      }
    }
    // The lookup alone (what the signals add before the engine).
    let sink = 0;
    for (let i = 0; i < cfg.decisionsPerRound; i++) {
      const id = requests[(i * 7) % requests.length].request.principal.id;
      const start = process.hrtime.bigint();
      sink += store.valuesFor(id, nowMs) === undefined ? 0 : 1;
      lookups[n + i] = Number(process.hrtime.bigint() - start);
    }
    if (sink < 0) throw new Error('unreachable');
    n += cfg.decisionsPerRound;
  }

  const stats = (list) => {
    const sorted = list.slice(0, n).sort();
    const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] / 1000;
    return { p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), p999: pct(0.999) };
  };
  const latency = { with: stats(samples.with), without: stats(samples.without) };
  // Each round's own p99: a burst of load from other processes (these machines are shared)
  // lifts the rounds it falls in, and the median round shows the code without it.
  const roundP99s = (list) =>
    Array.from({ length: cfg.rounds }, (_, round) => {
      const part = list.slice(round * cfg.decisionsPerRound, (round + 1) * cfg.decisionsPerRound);
      return part.sort()[Math.floor(0.99 * part.length)] / 1000;
    });
  const rounds99 = { with: roundP99s(samples.with), without: roundP99s(samples.without) };
  const range = (list) => `${Math.min(...list).toFixed(1)}–${Math.max(...list).toFixed(1)}`;
  const engineLatency = engineVariants
    ? { with: stats(engineSamples.with), without: stats(engineSamples.without) }
    : undefined;
  const lookup = stats(lookups);
  const perSecond = { with: median(rates.with), without: median(rates.without) };
  const roundRatios = rates.with.map((r, i) => r / rates.without[i]);
  const met = latency.with.p99 < TARGET_P99_MICROS;
  const fmtEffects = (e) => `allow ${e.allow}, deny ${e.deny}, step_up ${e.step_up}`;

  return [
    {
      id: 'signal-decisions',
      title: `Decisions with risk signals, in-process (${path}): ${cfg.subjects.toLocaleString('en-US')} subjects in a SignalStore, example policies (${policies} policies / ${rules} rules)`,
      tables: [
        {
          title: `One core, ${requests.length} requests (the example test inputs, principals drawn from the subjects; 1 in 10 holds none), median of ${cfg.rounds} interleaved rounds x ${cfg.decisionsPerRound.toLocaleString('en-US')} decisions per variant`,
          columns: ['measure', 'with signals', 'without signals', 'target', ''],
          rows: [
            ['decisions/s', Math.round(perSecond.with), Math.round(perSecond.without), '', ''],
            ['p50 latency (µs)', latency.with.p50, latency.without.p50, '', ''],
            ['p90 latency (µs)', latency.with.p90, latency.without.p90, '', ''],
            [
              'p99 latency (µs)',
              latency.with.p99,
              latency.without.p99,
              `< ${TARGET_P99_MICROS} µs`,
              met ? 'met' : '**NOT met**',
            ],
            [
              `p99 of each round: median (range) (µs)`,
              `${median(rounds99.with).toFixed(1)} (${range(rounds99.with)})`,
              `${median(rounds99.without).toFixed(1)} (${range(rounds99.without)})`,
              '',
              '',
            ],
            ['p99.9 latency (µs)', latency.with.p999, latency.without.p999, '', ''],
            ['effects seen', fmtEffects(effects.with), fmtEffects(effects.without), '', ''],
            ...(engineLatency
              ? [
                  [
                    'PolicyEngine.decide alone p50 / p99 (µs)',
                    `${engineLatency.with.p50} / ${engineLatency.with.p99}`,
                    `${engineLatency.without.p50} / ${engineLatency.without.p99}`,
                    '',
                    '',
                  ],
                ]
              : []),
            [
              'SignalStore.valuesFor alone p50 / p99 (µs)',
              `${lookup.p50} / ${lookup.p99}`,
              '',
              '',
              '',
            ],
            [
              'store: subjects / values / heap (MiB)',
              `${store.subjectCount} / ${store.size} / ${storeMiB.toFixed(1)}`,
              '',
              '',
              '',
            ],
          ],
        },
      ],
      ratios: {
        throughputWithVsWithoutSignals: {
          value: median(roundRatios),
          better: 'higher',
          description: `${path} decisions/s reading signals from a 10,000-subject SignalStore ÷ decisions/s of the same requests without signals, round by round`,
        },
        p99WithVsWithoutSignals: {
          value: latency.with.p99 / latency.without.p99,
          better: 'lower',
          checked: false,
          description:
            'p99 latency with signals ÷ without (not checked: a few µs either way, scheduling noise on shared cores swings it)',
        },
      },
      metrics: {
        subjects: cfg.subjects,
        policies,
        rules,
        withDecisionsPerSecond: perSecond.with,
        withoutDecisionsPerSecond: perSecond.without,
        withP50Micros: latency.with.p50,
        withP99Micros: latency.with.p99,
        withoutP50Micros: latency.without.p50,
        withoutP99Micros: latency.without.p99,
        withRoundP99MedianMicros: median(rounds99.with),
        withoutRoundP99MedianMicros: median(rounds99.without),
        ...(engineLatency
          ? {
              engineWithP99Micros: engineLatency.with.p99,
              engineWithoutP99Micros: engineLatency.without.p99,
            }
          : {}),
        lookupP99Micros: lookup.p99,
        viaDecisionPoint: viaPoint ? 1 : 0,
        storeHeapMiB: storeMiB,
      },
      charts: [
        {
          id: 'signal-decisions-latency',
          title: `Decision latency with signals (${cfg.subjects.toLocaleString('en-US')} subjects) and without`,
          unit: 'µs',
          bars: [
            { label: 'with signals p50', value: latency.with.p50 },
            { label: 'without p50', value: latency.without.p50 },
            { label: 'with signals p99', value: latency.with.p99 },
            { label: 'without p99', value: latency.without.p99 },
          ],
        },
      ],
      notes: [
        `Target p99 < ${TARGET_P99_MICROS} µs with ${cfg.subjects.toLocaleString('en-US')} subjects holding signals: ${met ? 'met' : '**NOT met**'} (p99 ${latency.with.p99.toFixed(1)} µs; ${latency.without.p99.toFixed(1)} µs without signals).`,
        viaPoint
          ? 'Each decision: DecisionPoint.decide (request check, bundle and staleness, signals read once from its agent-core SignalStore for the principal, engine, decision record into a log buffer) with the store fed one snapshot of 2 values per subject, as the agent sync applies a verified message; without signals: the same decision point and bundle with no SignalStore, so every declared signal reads its zero value. The effects differ because risk-step-up.yaml steps up principals with 3+ failed logins.'
          : 'Each decision: SignalStore.valuesFor(principal.id) (agent-core, fed one snapshot of 2 values per subject), then PolicyEngine.decide with those values as `signals`, as the decision point passes them (the DecisionPoint did not read a SignalStore when this ran); without signals, every declared signal reads its zero value. The effects differ because risk-step-up.yaml steps up principals with 3+ failed logins.',
        'Latency is each call timed on its own (process.hrtime, wall clock, as the engine part); throughput is a separate untimed loop; the two variants alternate order round by round. "PolicyEngine.decide alone": the same requests, values from the same store, timed without the decision point around the engine (the engine part\'s measure), in the same rounds.',
      ],
    },
  ];
}

if (isEntryModule(import.meta.url)) await runAlone('signals', run);
