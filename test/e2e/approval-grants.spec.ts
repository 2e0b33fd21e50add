/**
 * Approval grants on a real agent (issue 10, "Approval grants ignore the resource kind"): the
 * control plane, one agent process, an approval request decided by the active policies and
 * approved by another person. The grant the agent receives is for the approved action on the
 * approved resource, kind included: the same action on another kind of resource with the same
 * id still needs its own approval, on the agent as on POST /v1/check.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlaneProcess } from '../support/control-plane-process.js';
import {
  AgentProcess,
  api,
  call,
  killAllAgents,
  removeTempDirs,
  startPolicyFleet,
  waitFor,
} from './support.js';

const POLICY = `apiVersion: stepgate/v1
kind: Policy
name: e2e-approved-deploys
target:
  actions: ["e2e:deploy"]
rules:
  - name: one-approver
    effect: step_up
    when: resource.id.startsWith("prod/")
    require: { approvals: 1 }
  - name: deployers
    effect: allow
    when: '"deployer" in principal.roles'
`;

let cp: ControlPlaneProcess;
let agent: AgentProcess;
let tokens: Record<string, string>;

const deploy = (kind: string) => ({
  principal: { id: 'alice', roles: ['deployer'] },
  action: 'e2e:deploy',
  resource: { kind, id: 'prod/billing' },
});

beforeAll(async () => {
  ({ cp, agent, tokens } = await startPolicyFleet({
    name: 'approval-grants',
    people: { alice: ['viewer'], bob: ['approver'] },
    policies: { 'e2e/approved-deploys.yaml': POLICY },
    message: 'e2e: prod deploys need an approver',
  }));
}, 300_000);

afterAll(async () => {
  await killAllAgents();
  await cp?.destroy();
  removeTempDirs();
});

describe('an approval grant on the agent', () => {
  it('counts for the approved resource kind, not for another kind with the same id', async () => {
    for (const kind of ['environment', 'database'])
      expect((await agent.decide(deploy(kind))).body).toMatchObject({
        effect: 'step_up',
        require: { approvals: 1 },
      });
    const request = await api(cp.url, tokens.alice, 'POST', '/v1/approvals', {
      action: 'e2e:deploy',
      resource: { kind: 'environment', id: 'prod/billing' },
      reason: 'release 2.4',
      // Decided with alice's roles from data.people (a deployer there), never the body's.
    });
    expect(request.status, JSON.stringify(request.body)).toBe(201);
    expect(request.body.required).toBe(1);
    const approved = await api(
      cp.url,
      tokens.bob,
      'POST',
      `/v1/approvals/${request.body.id}/approve`,
      {},
    );
    expect(approved.body.status).toBe('approved');

    await waitFor(
      'the approval grant to reach the agent',
      async () => (await agent.decide(deploy('environment'))).body.effect === 'allow',
      10_000,
    );
    const allowed = await agent.decide(deploy('environment'));
    expect(allowed.body.grants).toEqual([approved.body.grantId]);
    // The attack: the approval of the environment used for the database of the same id.
    const other = await call(agent.url, 'POST', '/v1/decide', deploy('database'));
    expect(other.body).toMatchObject({ effect: 'step_up', require: { approvals: 1 } });
    expect(other.body.grants).toBeUndefined();
  });
});
