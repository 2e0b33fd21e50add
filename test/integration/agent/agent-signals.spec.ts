/**
 * Risk signals (issue 13) reaching a real agent process from the fake control plane: signed
 * `signals` messages turn the same /v1/decide from allow to step_up, a value expires on the
 * agent with no further message, a snapshot removes what it omits, a forged message changes
 * nothing, and the decision records shipped back name the values read.
 */
import {
  signSignalsMessage,
  type SignalsMessage,
  type SignalsPayload,
  type SignalUpdate,
} from '@stepgate/protocol';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTINGS } from '../../support/policy-fixtures.js';
import {
  agentServing,
  bundleSigner,
  call,
  compilePolicyDir,
  tamper,
  tempDir,
  cleanup,
  waitFor,
  type AgentServing,
  type BundleSigner,
} from './support.js';

const HOUR = 3_600_000;

let serving: AgentServing;
let rogue: BundleSigner;
let repo: string;

beforeAll(async () => {
  repo = tempDir('signals-repo');
  mkdirSync(repo, { recursive: true });
  writeFileSync(
    join(repo, 'stepgate.yaml'),
    `${SETTINGS}signals:
  failed_logins: { event: login_failed, window: 1h, aggregate: count }
`,
  );
  writeFileSync(
    join(repo, 'logins.yaml'),
    `apiVersion: stepgate/v1
kind: Policy
name: logins
target: { actions: ["docs:*"] }
rules:
  - name: failed-logins
    effect: step_up
    when: signals.failed_logins >= 3
    require: { level: mfa }
    message: Three failed logins within the hour need a fresh MFA.
  - name: everyone
    effect: allow
    when: "true"
`,
  );
  [serving, rogue] = await Promise.all([agentServing(compilePolicyDir(repo)), bundleSigner()]);
}, 300_000);

afterAll(async () => {
  await serving?.stop();
  cleanup(repo);
});

async function effect(principal: string): Promise<string> {
  const response = await call(serving.agent.url, 'POST', '/v1/decide', {
    principal: { id: principal },
    action: 'docs:read',
    resource: { kind: 'doc', id: 'readme' },
  });
  expect(response.status).toBe(200);
  return (response.body as { effect: string }).effect;
}

const failedLogins = (
  subject: string,
  value: number,
  seq: number,
  expiresAt = Date.now() + HOUR,
): SignalUpdate => ({ subject, name: 'failed_logins', value, seq, expiresAt });

function signals(
  payload: Omit<SignalsPayload, 'format' | 'issuedAt'>,
  by: BundleSigner = serving.signer,
): Promise<SignalsMessage> {
  return signSignalsMessage(payload, by.key);
}

/** Waits for `principal`'s effect to become `expected`; returns how long it took (ms). */
async function turns(principal: string, expected: string, timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  await waitFor(
    `${principal}'s decision to turn ${expected}`,
    async () => (await effect(principal)) === expected,
    timeoutMs,
  );
  return Date.now() - started;
}

async function refusedCount(): Promise<number> {
  const metrics = await call(serving.agent.url, 'GET', '/metrics');
  const line = String(metrics.body)
    .split('\n')
    .find((l) => l.startsWith('stepgate_agent_signals_refused_total '));
  return Number(line?.split(' ')[1] ?? NaN);
}

describe('risk signals on a real agent', () => {
  it('turns allow into step_up within a second, refuses forgeries, expires values and applies snapshots', async () => {
    const { plane, agent } = serving;
    // Nothing pushed yet: the zero value (no failed logins).
    expect(await effect('alice')).toBe('allow');
    expect((await call(agent.url, 'GET', '/readyz')).body).toMatchObject({
      signals: { subjects: 0, values: 0 },
    });

    // Three failed logins: the same request now needs a step-up.
    plane.send(
      'signals',
      await signals({ snapshot: false, seq: 3, values: [failedLogins('alice', 3, 3)] }),
    );
    expect(await turns('alice', 'step_up')).toBeLessThan(1000);
    expect(await effect('bob')).toBe('allow');
    expect((await call(agent.url, 'GET', '/readyz')).body).toMatchObject({
      signals: { subjects: 1, values: 1 },
    });

    // An older value arriving late (another replica) does not win over seq 3.
    plane.send(
      'signals',
      await signals({ snapshot: false, seq: 2, values: [failedLogins('alice', 1, 2)] }),
    );

    // Forged: a tampered message and one signed by a key the agent does not trust, each
    // trying to clear alice's value (a removal with a higher seq). Nothing changes.
    const clearing = { snapshot: true, seq: 50, values: [] };
    const forged = await signals(clearing);
    plane.send('signals', { jws: tamper(forged.jws) });
    plane.send('signals', await signals(clearing, rogue));
    await waitFor(
      'both forgeries refused',
      () => (agent.output().match(/risk signals refused/g) ?? []).length >= 2,
      10_000,
    );
    expect(await effect('alice')).toBe('step_up');
    expect(await refusedCount()).toBe(2);
    // Not even the message's shape: logged and counted too.
    plane.send('signals', { jws: 42, snapshot: true });
    await waitFor(
      'the malformed message counted',
      async () => (await refusedCount()) === 3,
      10_000,
    );
    expect(agent.output()).toMatch(/malformed risk-signals message/);
    expect(await effect('alice')).toBe('step_up');

    // A snapshot as of seq 10 that lists bob only: alice's value (seq 3) is no longer current.
    plane.send(
      'signals',
      await signals({ snapshot: true, seq: 10, values: [failedLogins('bob', 4, 9)] }),
    );
    await turns('alice', 'allow');
    expect(await effect('bob')).toBe('step_up');

    // A value that expires in 3 s: step_up, then allow again once it passes, with no message.
    const expiresAt = Date.now() + 3_000;
    plane.send(
      'signals',
      await signals({
        snapshot: false,
        seq: 11,
        values: [failedLogins('alice', 5, 11, expiresAt)],
      }),
    );
    await turns('alice', 'step_up');
    await turns('alice', 'allow', 10_000);
    // Read as expired on the decision path itself (not only once the periodic sweep ran).
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
    expect(Date.now() - expiresAt).toBeLessThan(2_000);

    // Decision records shipped to the control plane name the values read.
    await waitFor(
      'records naming the signal values',
      () => {
        const read = plane
          .records()
          .filter((record) => record.principal === 'alice')
          .map((record) => record.signals?.failed_logins);
        return read.includes(3) && read.includes(5) && read.includes(0);
      },
      15_000,
    );
    const records = plane.records().filter((record) => record.principal === 'alice');
    expect(records.every((record) => record.signals !== undefined)).toBe(true);
    expect(records.find((record) => record.signals?.failed_logins === 3)).toMatchObject({
      effect: 'step_up',
      signals: { failed_logins: 3 },
    });
    expect(plane.invalidBatches).toEqual([]);
  }, 180_000);
});
