import { beforeAll, describe, expect, it, vi } from 'vitest';
import { DOCS_POLICY, FakeClock, policySet, signer } from '../__support__/fakes.js';
import { BundleStore } from '../bundle-store.js';
import { DecisionPoint } from '../decision-point.js';
import { LogBuffer } from '../log-buffer.js';
import { TrustStore } from '../trust-store.js';
import { GrantStore } from './grant-store.js';

type Signer = Awaited<ReturnType<typeof signer>>;
let key: Signer;
beforeAll(async () => {
  key = await signer();
});

const APPROVALS_POLICY = `apiVersion: stepgate/v1
kind: Policy
name: releases
target: { actions: ["release"] }
rules:
  - name: one-approval
    effect: step_up
    require: { approvals: 1 }
  - name: release
    effect: allow
`;

const ID = (n: number) => `00000000-0000-4000-8000-00000000000${n}`;
const secret = (principal = 'alice') => ({
  principal: { id: principal, roles: ['reader'] },
  action: 'docs:read',
  resource: { kind: 'doc', id: 'secret/plan' },
});
const release = {
  principal: { id: 'alice' },
  action: 'release',
  resource: { kind: 'app', id: 'web' },
};

async function setup(docs = DOCS_POLICY) {
  const clock = new FakeClock();
  const trust = TrustStore.fromJwks(key.jwks);
  const store = new BundleStore({ trust, clock });
  const set = policySet({ 'docs.yaml': docs, 'releases.yaml': APPROVALS_POLICY });
  expect((await store.offer('active', await key.sign(set, 1))).applied).toBe(true);
  const grants = new GrantStore({ trust, clock });
  const logs = new LogBuffer(100);
  const point = new DecisionPoint({ store, clock, grants, logs });
  const push = async (...jws: string[]) => grants.apply({ full: false, grants: jws, revoked: [] });
  return { clock, store, grants, point, logs, push };
}

describe('DecisionPoint with grants', () => {
  it('lets a grant meet a step-up and names the grant on the decision', async () => {
    const { point, push } = await setup();
    expect(point.decide(secret())).toMatchObject({ effect: 'step_up', require: { level: 'mfa' } });
    await push(await key.grant({ id: ID(1) }));
    const decision = point.decide(secret());
    expect(decision).toMatchObject({ effect: 'allow', grants: [ID(1)] });
    // Only the grant's subject benefits.
    expect(point.decide(secret('bob')).effect).toBe('step_up');
  });

  it("records the grant's evidence the decision was made with (for a replay), never its token", async () => {
    const { point, push, logs } = await setup();
    const jws = await key.grant({ id: ID(1) });
    await push(jws);
    point.decide(secret());
    const [record] = logs.takeBatch(10).records;
    expect(record?.replay?.evidence).toMatchObject({ amr: expect.any(Array), grants: [ID(1)] });
    expect(record?.replay?.evidence?.authTime).toMatch(/^2026-/);
    expect(JSON.stringify(record)).not.toContain(jws);
  });

  it('ignores a grant outside its scope, an expired one and a revoked one', async () => {
    const { point, push, clock, grants } = await setup();
    await push(await key.grant({ id: ID(1), resources: ['public/**'] }));
    expect(point.decide(secret()).effect).toBe('step_up');
    await push(await key.grant({ id: ID(2), actions: ['docs:write'] }));
    expect(point.decide(secret()).effect).toBe('step_up');

    await push(await key.grant({ id: ID(3), expiresAt: '2026-11-23T10:10:00Z' }));
    expect(point.decide(secret()).effect).toBe('allow');
    clock.advance(11 * 60_000);
    expect(point.decide(secret()).effect).toBe('step_up');

    clock.advance(-11 * 60_000);
    await grants.apply(await key.grants({ full: false, grants: [], revoked: [ID(3)] }));
    expect(point.decide(secret()).effect).toBe('step_up');
  });

  it('never takes an approval grant as fresh authentication, only its approvers', async () => {
    const fresh = `apiVersion: stepgate/v1
kind: Policy
name: docs
target: { actions: ["docs:*"] }
rules:
  - name: recent-login
    effect: step_up
    require: { maxAge: 5m }
  - name: readers
    effect: allow
`;
    const { point, push } = await setup(fresh);
    await push(
      await key.grant({
        id: ID(4),
        kind: 'approval',
        amr: [],
        approvals: ['bob'],
        authTime: '2026-11-23T10:00:00Z',
      }),
    );
    expect(point.decide(secret())).toMatchObject({ effect: 'step_up', require: { maxAge: 300 } });
  });

  it('does not let a grant too old for maxAge pass, and keeps the smallest gap', async () => {
    const { point, push } = await setup();
    await push(await key.grant({ id: ID(1), authTime: '2026-11-23T09:50:00Z' }));
    expect(point.decide(secret())).toMatchObject({ effect: 'step_up', require: { maxAge: 300 } });
    expect(point.decide(secret()).grants).toBeUndefined();
  });

  it('counts approvers from an approval grant, never the requester', async () => {
    const { point, push } = await setup();
    expect(point.decide(release)).toMatchObject({ effect: 'step_up', require: { approvals: 1 } });
    await push(
      await key.grant({
        id: ID(1),
        kind: 'approval',
        amr: [],
        approvals: ['alice'],
        actions: ['release'],
        resources: ['web'],
        resourceKind: 'app',
      }),
    );
    expect(point.decide(release).effect).toBe('step_up');
    await push(
      await key.grant({
        id: ID(2),
        kind: 'approval',
        amr: [],
        approvals: ['alice', 'bob'],
        actions: ['release'],
        resources: ['**'],
        resourceKind: 'app',
      }),
    );
    const decision = point.decide(release);
    expect(decision.effect).toBe('allow');
    expect(decision.grants).toContain(ID(2));
  });

  it('counts an approval grant only for the resource kind it was approved for', async () => {
    const { point, push } = await setup();
    const approval = {
      kind: 'approval' as const,
      amr: [],
      approvals: ['bob'],
      actions: ['release'],
    };
    await push(await key.grant({ id: ID(1), ...approval, resources: ['web'], resourceKind: 'db' }));
    // Same action, same id, another kind: the approval was not for this resource.
    expect(point.decide(release)).toMatchObject({ effect: 'step_up', require: { approvals: 1 } });
    // One without a kind (signed before kinds were) counts for no resource at all.
    await push(await key.grant({ id: ID(2), ...approval, resources: ['web'] }));
    expect(point.decide(release).effect).toBe('step_up');
    await push(
      await key.grant({ id: ID(3), ...approval, resources: ['web'], resourceKind: 'app' }),
    );
    expect(point.decide(release)).toMatchObject({ effect: 'allow', grants: [ID(3)] });
  });

  it('counts approvers whose subjects differ only by case once', async () => {
    const { point, push } = await setup(
      DOCS_POLICY.replace('{ level: mfa, maxAge: 5m }', '{ approvals: 2 }'),
    );
    const approval = { kind: 'approval' as const, amr: [], resourceKind: 'doc' };
    await push(await key.grant({ id: ID(1), ...approval, approvals: ['bob', 'BOB'] }));
    expect(point.decide(secret())).toMatchObject({ effect: 'step_up', require: { approvals: 2 } });
    await push(await key.grant({ id: ID(2), ...approval, approvals: ['Bob', 'carol'] }));
    expect(point.decide(secret()).effect).toBe('allow');
  });

  it('unions approvals into the caller evidence and into elevation grants', async () => {
    const { point, push } = await setup(
      DOCS_POLICY.replace('{ level: mfa, maxAge: 5m }', '{ level: mfa, maxAge: 5m, approvals: 1 }'),
    );
    const token = { acr: 'urn:stepgate:mfa', authTime: new Date('2026-11-23T09:59:00Z') };
    expect(point.decide(secret(), token)).toMatchObject({
      effect: 'step_up',
      require: { approvals: 1 },
    });
    await push(
      await key.grant({
        id: ID(2),
        kind: 'approval',
        amr: [],
        approvals: ['carol'],
        resources: ['secret/**'],
        resourceKind: 'doc',
      }),
    );
    // The caller's own fresh MFA token plus the approval.
    expect(point.decide(secret(), token)).toMatchObject({ effect: 'allow', grants: [ID(2)] });
    // No token: the approval alone is not MFA...
    expect(point.decide(secret())).toMatchObject({ effect: 'step_up', require: { level: 'mfa' } });
    // ...but an elevation grant plus the approval is.
    await push(await key.grant({ id: ID(1) }));
    expect(point.decide(secret())).toMatchObject({ effect: 'allow', grants: [ID(1), ID(2)] });
  });

  it('evaluates once when the principal holds no grants, and can skip the decision log', async () => {
    const { point, store, logs } = await setup();
    const engine = store.active?.engine;
    const spy = vi.spyOn(engine as NonNullable<typeof engine>, 'decide');
    point.decide(secret());
    expect(spy).toHaveBeenCalledTimes(1);
    point.decide(secret(), undefined, { record: false });
    expect(logs.size).toBe(1);
  });
});
