#!/usr/bin/env node
// In-process decision benchmark: 50 policies / 200 rules with realistic conditions (roles,
// attributes, CIDR ranges, time windows, step-up requirements), measured after warm-up.
// Run with `npm run bench` (builds first). Figures are medians of repeated rounds.
import os from 'node:os';
import { compile, PolicyEngine } from '@stepgate/policy';

const POLICIES = 50;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const DECISIONS_PER_ROUND = Number(process.env.BENCH_DECISIONS ?? 50_000);
const WARMUP = 30_000;

const settings = `apiVersion: stepgate/v1
kind: Settings
defaultEffect: deny
onError: deny
levels:
  - { name: pwd, acr: ["urn:stepgate:pwd"] }
  - { name: mfa, acr: ["urn:stepgate:mfa"], amr: ["otp", "mfa"] }
  - { name: phishing_resistant, acr: ["urn:stepgate:phr"], amr: ["hwk"] }
`;

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

const result = compile(files);
if (!result.ok) {
  console.error(result.errors);
  process.exit(1);
}
const ruleCount = result.policySet.policies.reduce((n, p) => n + p.rules.length, 0);
const engine = new PolicyEngine(result.policySet);

// A deterministic mix of requests: reads and writes, admin actions in and out of the office,
// blocked countries, strangers, and fresh or stale evidence.
let seed = 42;
const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const pick = (list) => list[Math.floor(random() * list.length)];
const requests = Array.from({ length: 4096 }, () => {
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

const now = new Date('2026-11-23T10:00:00Z');
for (let i = 0; i < WARMUP; i++) {
  const { request, evidence } = requests[i % requests.length];
  engine.decide(request, evidence, { now });
}

const effects = { allow: 0, deny: 0, step_up: 0 };
const roundRates = [];
const samples = new Float64Array(ROUNDS * DECISIONS_PER_ROUND);
let sampleCount = 0;
for (let round = 0; round < ROUNDS; round++) {
  // Throughput: no per-call timer in the loop.
  let start = process.hrtime.bigint();
  for (let i = 0; i < DECISIONS_PER_ROUND; i++) {
    const { request, evidence } = requests[i % requests.length];
    effects[engine.decide(request, evidence, { now }).effect]++;
  }
  roundRates.push(DECISIONS_PER_ROUND / (Number(process.hrtime.bigint() - start) / 1e9));
  // Latency: every call timed on its own.
  for (let i = 0; i < DECISIONS_PER_ROUND; i++) {
    const { request, evidence } = requests[(i * 7) % requests.length];
    start = process.hrtime.bigint();
    engine.decide(request, evidence, { now });
    samples[sampleCount++] = Number(process.hrtime.bigint() - start);
  }
}

const sorted = samples.slice(0, sampleCount).sort();
const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] / 1000;
const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
const report = {
  date: new Date().toISOString(),
  machine: `${os.cpus()[0]?.model ?? 'unknown cpu'}, ${os.cpus().length} cores, node ${process.version}`,
  policies: result.policySet.policies.length,
  rules: ruleCount,
  decisionsPerSecond: Math.round(median(roundRates)),
  latencyMicros: {
    p50: pct(0.5),
    p90: pct(0.9),
    p99: pct(0.99),
    p999: pct(0.999),
    max: sorted[sorted.length - 1] / 1000,
  },
  effects,
  target: 'p99 < 50 µs',
};
report.meetsTarget = report.latencyMicros.p99 < 50;

console.log(
  `Stepgate engine, in-process: ${report.policies} policies / ${report.rules} rules (${report.machine})`,
);
console.log('');
console.log('| measure | value |');
console.log('| --- | --- |');
console.log(
  `| decisions/s (median of ${ROUNDS} rounds x ${DECISIONS_PER_ROUND}) | ${report.decisionsPerSecond.toLocaleString('en-US')} |`,
);
for (const [name, value] of Object.entries(report.latencyMicros))
  console.log(`| ${name} latency | ${value.toFixed(2)} µs |`);
console.log(
  `| effects seen | allow ${effects.allow}, deny ${effects.deny}, step_up ${effects.step_up} |`,
);
console.log('');
console.log(`target ${report.target}: ${report.meetsTarget ? 'met' : 'NOT met'}`);
if (process.argv.includes('--json')) console.log(JSON.stringify(report));
