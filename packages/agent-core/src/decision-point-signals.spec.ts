import { decisionRecordSchema, type SignalUpdate } from '@stepgate/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { DOCS_POLICY, FakeClock, policySet, SETTINGS, signer } from './__support__/fakes.js';
import { BundleStore } from './bundle-store.js';
import { DecisionPoint } from './decision-point.js';
import { GrantStore } from './evidence/grant-store.js';
import { LogBuffer } from './log-buffer.js';
import { SignalStore } from './signal-store.js';
import { TrustStore } from './trust-store.js';

type Signer = Awaited<ReturnType<typeof signer>>;
let key: Signer;
beforeAll(async () => {
  key = await signer();
});

const SIGNALS = `signals:
  failed_logins: { event: login_failed, window: 1h, aggregate: count }
  new_device: { event: new_device, window: 24h, aggregate: exists }
  last_country: { event: login, field: country, window: 30d, aggregate: last }
`;

/** Step-up to mfa on secret documents; to phr after 3 failed logins; readers allowed. */
const RISK_POLICY = `apiVersion: stepgate/v1
kind: Policy
name: risk
target: { actions: ["docs:*"] }
rules:
  - name: secrets
    effect: step_up
    when: resource.id.startsWith("secret/")
    require: { level: mfa }
  - name: failed-logins
    effect: step_up
    when: signals.failed_logins >= 3
    require: { level: phr }
  - name: readers
    effect: allow
    when: "true"
`;

const WITH_SIGNALS = policySet({ 'stepgate.yaml': SETTINGS + SIGNALS, 'risk.yaml': RISK_POLICY });

const request = (id = 'guide', principal = 'alice') => ({
  principal: { id: principal, roles: ['reader'] },
  action: 'docs:read',
  resource: { kind: 'doc', id },
  context: { ip: '10.1.2.3' },
});

function setup() {
  const clock = new FakeClock();
  const trust = TrustStore.fromJwks(key.jwks);
  const store = new BundleStore({ trust, clock });
  const logs = new LogBuffer(100);
  const signals = new SignalStore({ clock });
  const grants = new GrantStore({ trust, clock });
  let reads = 0;
  const valuesFor = signals.valuesFor.bind(signals);
  signals.valuesFor = (subject, nowMs) => {
    reads++;
    return valuesFor(subject, nowMs);
  };
  const point = new DecisionPoint({ store, logs, clock, signals, grants });
  let seq = 0;
  const push = (values: Partial<SignalUpdate> & Pick<SignalUpdate, 'name' | 'value'>) =>
    signals.apply({
      format: 'stepgate.signals/v1',
      snapshot: false,
      seq: ++seq,
      values: [{ subject: 'alice', expiresAt: clock.now() + 3_600_000, seq, ...values }],
      issuedAt: new Date(clock.now()).toISOString(),
    });
  const records = () => {
    const batch = logs.takeBatch(1000);
    if (!batch) return [];
    logs.ackBatch(batch.batchId);
    return batch.records.map((record) => decisionRecordSchema.parse(record));
  };
  return { clock, store, logs, signals, grants, point, push, records, reads: () => reads };
}

describe('DecisionPoint: risk signals', () => {
  it('reads no signals for a bundle that declares none, and records none', async () => {
    const { store, point, push, records, reads } = setup();
    await store.offer('active', await key.sign(policySet({ 'docs.yaml': DOCS_POLICY }), 1));
    push({ name: 'failed_logins', value: 5 });
    expect(point.decide(request()).effect).toBe('allow');
    expect(reads()).toBe(0);
    expect(records()[0]).not.toHaveProperty('signals');
  });

  it("decides with the principal's values, zero values when absent, and names every declared value in the record", async () => {
    const { clock, store, point, push, records } = setup();
    await store.offer('active', await key.sign(WITH_SIGNALS, 1));
    expect(point.decide(request()).effect).toBe('allow');

    push({ name: 'failed_logins', value: 3, expiresAt: clock.now() + 5_000 });
    push({ name: 'last_country', value: 'NZ' });
    expect(point.decide(request())).toMatchObject({
      effect: 'step_up',
      require: { level: 'phr' },
    });
    // Another principal's values are not read.
    expect(point.decide(request('guide', 'bob')).effect).toBe('allow');

    // Past expiresAt, with no message: the zero value again.
    clock.advance(5_000);
    expect(point.decide(request()).effect).toBe('allow');

    expect(records().map((record) => record.signals)).toEqual([
      { failed_logins: 0, new_device: false, last_country: null },
      { failed_logins: 3, new_device: false, last_country: 'NZ' },
      { failed_logins: 0, new_device: false, last_country: null },
      { failed_logins: 0, new_device: false, last_country: 'NZ' },
    ]);
  });

  it('passes the signals to the grant candidates too: an mfa grant does not meet a phr step-up', async () => {
    const { store, grants, point, push } = setup();
    await store.offer('active', await key.sign(WITH_SIGNALS, 1));
    await grants.apply(await key.grants({ full: true, grants: [await key.grant()], revoked: [] }));
    // The grant (mfa on secret/**) lifts the secrets step-up...
    expect(point.decide(request('secret/plan'))).toMatchObject({ effect: 'allow' });
    // ...but not the one 3 failed logins add.
    push({ name: 'failed_logins', value: 3 });
    expect(point.decide(request('secret/plan'))).toMatchObject({
      effect: 'step_up',
      require: { level: 'phr' },
    });
  });

  it('gives the shadow bundle the same values, and records the signals only the shadow declares', async () => {
    const { store, point, push, records } = setup();
    await store.offer('active', await key.sign(policySet({ 'docs.yaml': DOCS_POLICY }), 1));
    const stricter = policySet({
      'stepgate.yaml': SETTINGS + SIGNALS,
      'risk.yaml': RISK_POLICY,
    });
    await store.offer('shadow', await key.sign(stricter, 2, { kind: 'shadow' }));
    push({ name: 'failed_logins', value: 4 });
    expect(point.decide(request())).toMatchObject({
      effect: 'allow',
      shadow: { effect: 'step_up', revision: 2 },
    });
    expect(records()[0]?.signals).toEqual({
      failed_logins: 4,
      new_device: false,
      last_country: null,
    });
  });

  it('shows the values held in its status', async () => {
    const { point, push } = setup();
    push({ name: 'failed_logins', value: 1 });
    push({ name: 'new_device', value: true });
    expect(point.status().signals).toEqual({ subjects: 1, values: 2 });
  });
});
