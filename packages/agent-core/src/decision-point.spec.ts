import { beforeAll, describe, expect, it } from 'vitest';
import { decisionRecordSchema, StepgateError } from '@stepgate/protocol';
import {
  DOCS_POLICY,
  FakeClock,
  FakeLink,
  policySet,
  SETTINGS,
  signer,
} from './__support__/fakes.js';
import { BundleStore } from './bundle-store.js';
import { DecisionPoint, type DecisionPointOptions } from './decision-point.js';
import { LogBuffer } from './log-buffer.js';
import { TrustStore } from './trust-store.js';

type Signer = Awaited<ReturnType<typeof signer>>;
let key: Signer;
beforeAll(async () => {
  key = await signer();
});

const SET = policySet({ 'docs.yaml': DOCS_POLICY });
const MINUTE = 60_000;

const request = (id = 'guide', roles = ['reader']) => ({
  principal: { id: 'rita', roles, attributes: { email: 'rita@example.com', team: 'docs' } },
  action: 'docs:read',
  resource: { kind: 'doc', id },
  context: { ip: '10.1.2.3', userAgent: 'curl' },
});

function setup(options: Partial<DecisionPointOptions> = {}) {
  const clock = new FakeClock();
  const store = new BundleStore({ trust: TrustStore.fromJwks(key.jwks), clock });
  const logs = new LogBuffer(100);
  const link = new FakeLink();
  const point = new DecisionPoint({ store, logs, clock, connection: link, ...options });
  return { clock, store, logs, link, point };
}

function records(logs: LogBuffer) {
  const batch = logs.takeBatch(1000);
  if (!batch) return [];
  logs.ackBatch(batch.batchId);
  for (const record of batch.records) decisionRecordSchema.parse(record);
  return batch.records;
}

describe('DecisionPoint with no bundle', () => {
  it('fails closed by default and says why', () => {
    const { point, logs } = setup();
    const decision = point.decide(request());
    expect(decision).toMatchObject({
      effect: 'deny',
      failReason: 'no_bundle',
      revision: 0,
      reasons: [{ policy: '(agent)', rule: 'fail_closed/no_bundle', effect: 'deny' }],
    });
    expect(decision.decisionId).toMatch(/^[0-9a-f-]{36}$/);
    const [record] = records(logs);
    expect(record).toMatchObject({ effect: 'deny', failReason: 'no_bundle', principal: 'rita' });
    // Without a bundle the mask is unknown, so the input is not kept.
    expect(record?.input).toBeUndefined();
  });

  it('fails open when configured to', () => {
    const { point } = setup({ failMode: 'open' });
    expect(point.decide(request())).toMatchObject({
      effect: 'allow',
      failReason: 'no_bundle',
      reasons: [{ rule: 'fail_open/no_bundle', effect: 'allow' }],
    });
    expect(point.status()).toMatchObject({ ready: true, failReason: 'no_bundle' });
  });

  it('still refuses malformed requests', () => {
    const { point, logs } = setup();
    expect(() => point.decide({ action: 'x' } as never)).toThrow(StepgateError);
    expect(() => point.decide({ ...request(), principal: { id: '' } })).toThrow(/principal.id/);
    expect(logs.size).toBe(0);
  });

  it('applies the request size limits before anything is decided', () => {
    const { point, logs } = setup();
    let thrown: unknown;
    try {
      point.decide({ ...request(), resource: { kind: 'doc', id: 'r'.repeat(1_000_000) } });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StepgateError);
    expect((thrown as StepgateError).details).toEqual({ field: 'resource.id', limit: 4096 });
    expect(logs.size).toBe(0);
  });
});

describe('DecisionPoint with a bundle', () => {
  it('decides with the active bundle and records the decision', async () => {
    const { point, store, logs } = setup();
    await store.offer('active', await key.sign(SET, 2));
    const allow = point.decide(request());
    expect(allow).toMatchObject({ effect: 'allow', revision: 2 });
    expect(allow.failReason).toBeUndefined();
    const stepUp = point.decide(request('secret/plan'));
    expect(stepUp).toMatchObject({ effect: 'step_up', require: { level: 'mfa', maxAge: 300 } });
    expect(point.decide(request('archive/old'))).toMatchObject({ effect: 'deny' });
    expect(() => point.decide({ ...request(), action: '' })).toThrow(StepgateError);

    const logged = records(logs);
    expect(logged.map((r) => r.effect)).toEqual(['allow', 'step_up', 'deny']);
    expect(logged[1]).toMatchObject({
      decisionId: stepUp.decisionId,
      revision: 2,
      require: { level: 'mfa', maxAge: 300 },
      reasons: [{ policy: 'docs', rule: 'secret-step-up', effect: 'step_up' }],
      action: 'docs:read',
      resource: { kind: 'doc', id: 'secret/plan' },
      at: '2026-11-23T10:00:00.000Z',
    });
    // Reason messages are not part of the record.
    expect(logged[1]?.reasons[0]).not.toHaveProperty('message');
  });

  it('records the verified evidence it decided with, for a replay, outside the input', async () => {
    const { point, store, logs } = setup();
    await store.offer('active', await key.sign(SET, 1));
    const evidence = { level: 'mfa', amr: ['otp'], authTime: '2026-11-23T09:58:00Z' };
    expect(point.decide(request('secret/plan'), evidence).effect).toBe('allow');
    point.decide(request('secret/plan'));
    const [withEvidence, without] = records(logs);
    expect(withEvidence?.replay).toEqual({
      version: 1,
      evidence: { level: 'mfa', amr: ['otp'], authTime: '2026-11-23T09:58:00.000Z' },
    });
    expect(without?.replay).toEqual({ version: 1 });
    expect(withEvidence?.input).not.toHaveProperty('auth');
  });

  it('names the masked paths the request had, and keeps no replay part for a fail-mode answer', async () => {
    const masked = policySet({
      'docs.yaml': DOCS_POLICY,
      'stepgate.yaml': `${SETTINGS}mask: [context.ip, context.geo.city, principal.attributes.email]\n`,
    });
    const { point, store, logs } = setup();
    point.decide(request());
    await store.offer('active', await key.sign(masked, 1));
    point.decide(request());
    const [failed, record] = records(logs);
    expect(failed?.replay).toBeUndefined();
    expect(record?.replay).toEqual({
      version: 1,
      masked: ['context.ip', 'principal.attributes.email'],
    });
  });

  it('removes masked fields from the recorded input without touching the request', async () => {
    const masked = policySet({
      'docs.yaml': DOCS_POLICY,
      'stepgate.yaml': `${SETTINGS}mask: [context.ip, principal.attributes.email, resource.id]\n`,
    });
    const { point, store, logs } = setup();
    await store.offer('active', await key.sign(masked, 1));
    const input = request();
    point.decide(input);
    const [record] = records(logs);
    expect(record?.input).toEqual({
      principal: { id: 'rita', roles: ['reader'], attributes: { team: 'docs' } },
      action: 'docs:read',
      resource: { kind: 'doc' },
      context: { userAgent: 'curl' },
    });
    expect(record?.resource).toEqual({ kind: 'doc', id: '[masked]' });
    expect(input).toEqual(request());
  });

  it('records actionAttributes with the rest of the input, masked where the mask says', async () => {
    const masked = policySet({
      'docs.yaml': DOCS_POLICY,
      'stepgate.yaml': `${SETTINGS}mask: [actionAttributes.reason]\n`,
    });
    const { point, store, logs } = setup();
    await store.offer('active', await key.sign(masked, 1));
    const input = { ...request(), actionAttributes: { soft: true, reason: 'ticket 42' } };
    point.decide(input);
    const [record] = records(logs);
    expect(record?.input).toMatchObject({ action: 'docs:read', actionAttributes: { soft: true } });
    expect(record?.input?.actionAttributes).not.toHaveProperty('reason');
    expect(input.actionAttributes).toEqual({ soft: true, reason: 'ticket 42' });
  });

  it('evaluates the shadow bundle, answers with it where it differs and logs every comparison', async () => {
    const stricter = policySet({
      'docs.yaml': DOCS_POLICY.replace(
        'resource.id.startsWith("secret/")',
        'resource.id.startsWith("secret/") || resource.id == "guide"',
      ),
    });
    const { point, store, logs } = setup();
    await store.offer('active', await key.sign(SET, 3));
    await store.offer('shadow', await key.sign(stricter, 4, { kind: 'shadow' }));

    const differs = point.decide(request('guide'));
    expect(differs).toMatchObject({
      effect: 'allow',
      revision: 3,
      shadow: { effect: 'step_up', revision: 4 },
    });
    const same = point.decide(request('manual'));
    expect(same.effect).toBe('allow');
    expect(same.shadow).toBeUndefined();

    const [first, second] = records(logs);
    expect(first?.shadow).toEqual({
      effect: 'step_up',
      revision: 4,
      reasons: [{ policy: 'docs', rule: 'secret-step-up', effect: 'step_up' }],
    });
    // The agreeing decision is logged with the shadow verdict too, so reports can count agreement.
    expect(second?.shadow).toMatchObject({ effect: 'allow', revision: 4 });
  });

  it('reports every decision to the observer', async () => {
    const seen: string[] = [];
    const { point, store } = setup({
      observer: (d, seconds) => seen.push(`${d.effect}:${seconds >= 0}`),
    });
    point.decide(request());
    await store.offer('active', await key.sign(SET, 1));
    point.decide(request());
    expect(seen).toEqual(['deny:true', 'allow:true']);
  });
});

describe('DecisionPoint staleness', () => {
  it('applies the fail mode only while disconnected and past maxStaleness', async () => {
    const { point, store, link, clock } = setup({ maxStalenessMs: 10 * MINUTE });
    link.connected = true;
    await store.offer('active', await key.sign(SET, 1), { source: 'control-plane' });

    // Connected: never stale, however old the bundle.
    clock.advance(120 * MINUTE);
    expect(point.decide(request()).effect).toBe('allow');
    expect(point.status()).toMatchObject({ ready: true, stalenessSeconds: 0 });

    // The connection drops: the bundle was current until now.
    link.connected = false;
    store.markSynced(clock.now());
    clock.advance(9 * MINUTE);
    expect(point.decide(request()).failReason).toBeUndefined();
    clock.advance(2 * MINUTE);
    const stale = point.decide(request());
    expect(stale).toMatchObject({
      effect: 'deny',
      failReason: 'stale_bundle',
      revision: 1,
      reasons: [{ rule: 'fail_closed/stale_bundle' }],
    });
    expect(point.status()).toMatchObject({
      ready: false,
      failReason: 'stale_bundle',
      revision: 1,
      stalenessSeconds: 660,
    });

    // Back online: policies apply again.
    link.connected = true;
    expect(point.decide(request()).effect).toBe('allow');
  });

  it('is never stale without maxStaleness', async () => {
    const { point, store, clock } = setup();
    await store.offer('active', await key.sign(SET, 1));
    clock.advance(365 * 24 * 60 * MINUTE);
    expect(point.decide(request()).effect).toBe('allow');
  });

  it('allows with the stale reason in fail-open', async () => {
    const { point, store, clock } = setup({ maxStalenessMs: MINUTE, failMode: 'open' });
    await store.offer('active', await key.sign(SET, 1));
    clock.advance(2 * MINUTE);
    expect(point.decide(request('archive/x'))).toMatchObject({
      effect: 'allow',
      failReason: 'stale_bundle',
    });
  });
});
