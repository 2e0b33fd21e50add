#!/usr/bin/env node
// In-process decision benchmark: 50 policies / 200 rules with realistic conditions (roles,
// attributes, CIDR ranges, time windows, step-up requirements), measured after warm-up.
// Part of `npm run bench` (bench/run.js); alone: `node bench/engine.bench.js [--quick]` after
// `npm run build`. Figures are medians of repeated rounds.
// Knobs: BENCH_ROUNDS, BENCH_DECISIONS (per round).
import { readFileSync } from 'node:fs';
import { compile, PolicyEngine } from '@stepgate/policy';
import { isEntryModule, runAlone } from './report/standalone.js';

const POLICIES = 50;
const TARGET_P99_MICROS = 50;

/** Quick mode (the regression check) keeps the same workload with fewer, shorter rounds. */
function settingsFor(quick) {
  return {
    rounds: Number(process.env.BENCH_ROUNDS ?? (quick ? 5 : 9)),
    decisionsPerRound: Number(process.env.BENCH_DECISIONS ?? (quick ? 20_000 : 50_000)),
    warmup: quick ? 20_000 : 30_000,
  };
}

const settings = readFileSync(
  new URL('../test/support/fixtures/settings.yaml', import.meta.url),
  'utf8',
);

const data = `corporate: ["10.0.0.0/8", "172.16.0.0/12", "2001:db8::/32"]
blockedCountries: ["KP", "IR", "SY", "CU"]
blockedAsns: [64496, 64511, 65535]
`;

/** Four rules per policy: a deny, a step-up, and two allows — 200 rules over 50 policies. */
function policyYaml(i) {
  const service = `svc${i}`;
  return `apiVersion: stepgate/v1
kind: Policy
name: ${service}
description: Access to ${service}.
target:
  actions: ["${service}:*", "${service}:admin:**"]
  resources: ["${service}/**"]
rules:
  - name: blocked-geo
    effect: deny
    when: 'has(context.geo) && (context.geo.country in data.network.blockedCountries || context.geo.asn in data.network.blockedAsns)'
  - name: admin-outside-office
    effect: step_up
    when: 'action.globMatch("${service}:admin:**") && (!context.ip.inCidr(data.network.corporate) || !now.withinHours("08:00", "19:00", "Europe/Berlin"))'
    require: { level: ${i % 3 === 0 ? 'phishing_resistant' : 'mfa'}, maxAge: ${5 + (i % 4) * 5}m }
  - name: team-members
    effect: allow
    when: '"${service}-team" in principal.groups || ("admin" in principal.roles && principal.attributes.department == resource.attributes.owner)'
  - name: readers
    effect: allow
    when: 'action == "${service}:read" && resource.attributes.classification != "secret" && now.getDayOfWeek("UTC") in [1, 2, 3, 4, 5]'
`;
}

const files = [
  { path: 'stepgate.yaml', content: settings },
  { path: 'data/network.yaml', content: data },
  ...Array.from({ length: POLICIES }, (_, i) => ({
    path: `services/svc${i}.yaml`,
    content: policyYaml(i),
  })),
];

// A deterministic mix of requests: reads and writes, admin actions in and out of the office,
// blocked countries, strangers, and fresh or stale evidence.
function makeRequests() {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = (list) => list[Math.floor(random() * list.length)];
  return Array.from({ length: 4096 }, () => {
    const i = Math.floor(random() * POLICIES);
    const verb = pick(['read', 'write', 'admin:rotate-keys', 'admin:users/delete', 'read']);
    return {
      request: {
        principal: {
          id: pick(['alice', 'bob', 'carol', 'dave']),
          roles: pick([['admin'], ['dev'], []]),
          groups: pick([[`svc${i}-team`], ['other-team'], []]),
          attributes: { department: pick(['payments', 'platform']) },
        },
        action: `svc${i}:${verb}`,
        resource: {
          kind: 'service',
          id: `svc${i}/${pick(['api', 'db', 'queue'])}`,
          attributes: {
            owner: pick(['payments', 'platform']),
            classification: pick(['internal', 'secret']),
          },
        },
        context: {
          ip: pick(['10.1.2.3', '203.0.113.9', '2001:db8::7']),
          geo: { country: pick(['DE', 'US', 'KP', 'FR']), asn: pick([3320, 64496, 15169]) },
        },
      },
      evidence: pick([
        undefined,
        { level: 'mfa', authTime: new Date(Date.now() - 3 * 60_000) },
        { amr: ['hwk'], authTime: new Date(Date.now() - 30 * 60_000) },
      ]),
    };
  });
}

/**
 * The machine-speed yardstick for the ratio: JSON.stringify + JSON.parse of the same requests
 * is plain CPU-bound JavaScript whose speed follows the machine's the way the engine's does, so
 * decisions/s divided by round trips/s moves with the engine's code, not with the machine.
 * Timed right after each engine round, so that both see the same load from other processes.
 */
function jsonRoundTripsPerSecond(requests, count) {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++)
    sink += JSON.parse(JSON.stringify(requests[i % requests.length].request)).action.length;
  const rate = count / (Number(process.hrtime.bigint() - start) / 1e9);
  if (sink === 0) throw new Error('unreachable: keeps the loop from being optimised away');
  return rate;
}

const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];

/** @param {import('./report/section.js').BenchRunOptions} options */
export async function run({ quick, log }) {
  const { rounds, decisionsPerRound, warmup } = settingsFor(quick);
  const result = compile(files);
  if (!result.ok)
    throw new Error(`the bench policy set does not compile: ${JSON.stringify(result.errors)}`);
  const ruleCount = result.policySet.policies.reduce((n, p) => n + p.rules.length, 0);
  const engine = new PolicyEngine(result.policySet);
  const requests = makeRequests();

  const now = new Date('2026-11-23T10:00:00Z');
  for (let i = 0; i < warmup; i++) {
    const { request, evidence } = requests[i % requests.length];
    engine.decide(request, evidence, { now });
  }
  log(`${rounds} rounds x ${decisionsPerRound} decisions after ${warmup} warm-up`);

  const effects = { allow: 0, deny: 0, step_up: 0 };
  const roundRates = [];
  const jsonRates = [];
  const roundRatios = [];
  jsonRoundTripsPerSecond(requests, warmup);
  const samples = new Float64Array(rounds * decisionsPerRound);
  let sampleCount = 0;
  for (let round = 0; round < rounds; round++) {
    // Throughput: no per-call timer in the loop.
    let start = process.hrtime.bigint();
    for (let i = 0; i < decisionsPerRound; i++) {
      const { request, evidence } = requests[i % requests.length];
      effects[engine.decide(request, evidence, { now }).effect]++;
    }
    const rate = decisionsPerRound / (Number(process.hrtime.bigint() - start) / 1e9);
    roundRates.push(rate);
    const jsonRate = jsonRoundTripsPerSecond(requests, decisionsPerRound);
    jsonRates.push(jsonRate);
    roundRatios.push(rate / jsonRate);
    // Latency: every call timed on its own.
    for (let i = 0; i < decisionsPerRound; i++) {
      const { request, evidence } = requests[(i * 7) % requests.length];
      start = process.hrtime.bigint();
      engine.decide(request, evidence, { now });
      samples[sampleCount++] = Number(process.hrtime.bigint() - start);
    }
  }
  const jsonRate = median(jsonRates);

  const sorted = samples.slice(0, sampleCount).sort();
  const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] / 1000;
  const decisionsPerSecond = Math.round(median(roundRates));
  const latency = {
    p50: pct(0.5),
    p90: pct(0.9),
    p99: pct(0.99),
    p999: pct(0.999),
    max: sorted[sorted.length - 1] / 1000,
  };
  const policies = result.policySet.policies.length;
  const met = latency.p99 < TARGET_P99_MICROS;

  return [
    {
      id: 'engine',
      title: `Engine, in-process: ${policies} policies / ${ruleCount} rules`,
      tables: [
        {
          title: `One core, ${requests.length} distinct requests, median of ${rounds} rounds x ${decisionsPerRound.toLocaleString('en-US')} decisions`,
          columns: ['measure', 'value', 'target', ''],
          rows: [
            ['decisions/s', decisionsPerSecond, '', ''],
            ['p50 latency (µs)', latency.p50, '', ''],
            ['p90 latency (µs)', latency.p90, '', ''],
            [
              'p99 latency (µs)',
              latency.p99,
              `< ${TARGET_P99_MICROS} µs`,
              met ? 'met' : '**NOT met**',
            ],
            ['p99.9 latency (µs)', latency.p999, '', ''],
            ['max latency (µs)', latency.max, '', ''],
            [
              'effects seen',
              `allow ${effects.allow}, deny ${effects.deny}, step_up ${effects.step_up}`,
              '',
              '',
            ],
          ],
        },
      ],
      ratios: {
        throughputVsJson: {
          value: median(roundRatios),
          better: 'higher',
          description:
            'engine decisions/s ÷ JSON.stringify+parse round trips/s of the same requests, timed round by round (a machine-speed yardstick)',
        },
      },
      metrics: {
        policies,
        rules: ruleCount,
        decisionsPerSecond,
        jsonRoundTripsPerSecond: Math.round(jsonRate),
        latencyP50Micros: latency.p50,
        latencyP90Micros: latency.p90,
        latencyP99Micros: latency.p99,
        latencyP999Micros: latency.p999,
        latencyMaxMicros: latency.max,
        allow: effects.allow,
        deny: effects.deny,
        stepUp: effects.step_up,
      },
      charts: [
        {
          id: 'engine-latency',
          title: `Stepgate engine decision latency, ${policies} policies / ${ruleCount} rules`,
          unit: 'µs',
          bars: [
            { label: 'p50', value: latency.p50 },
            { label: 'p90', value: latency.p90 },
            { label: 'p99', value: latency.p99 },
            { label: 'p99.9', value: latency.p999 },
          ],
        },
      ],
      notes: [
        `Target p99 < ${TARGET_P99_MICROS} µs: ${met ? 'met' : '**NOT met**'} (p99 ${latency.p99.toFixed(1)} µs).`,
        'Latency is each call timed on its own (process.hrtime); throughput is a separate untimed loop. The requests mix reads, writes and admin actions inside and outside the office network, blocked countries, strangers, and fresh or stale step-up evidence.',
      ],
    },
  ];
}

if (isEntryModule(import.meta.url)) await runAlone('engine', run);
