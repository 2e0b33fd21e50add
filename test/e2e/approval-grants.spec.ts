/**
 * Approval grants on a real agent (issue 10, "Approval grants ignore the resource kind"): the
 * control plane, one agent process, an approval request decided by the active policies and
 * approved by another person. The grant the agent receives is for the approved action on the
 * approved resource, kind included: the same action on another kind of resource with the same
 * id still needs its own approval, on the agent as on POST /v1/check.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlaneProcess } from '../support/control-plane-process.js';
import { cloneEmbedded, pushPolicies } from '../integration/control-plane/step-up-support.js';
import { createToken, ensureControlPlaneBuilt } from '../integration/control-plane/support.js';
import { ensureAgentBuilt } from '../integration/agent/support.js';
import {
  AgentProcess,
  api,
  call,
  killAllAgents,
  removeTempDirs,
  tempDir,
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
const tokens: Record<string, string> = {};

const deploy = (kind: string) => ({
  principal: { id: 'alice', roles: ['deployer'] },
  action: 'e2e:deploy',
  resource: { kind, id: 'prod/billing' },
});

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  await ensureAgentBuilt();
  cp = await startControlPlane();
  for (const [subject, scopes] of [
    ['alice', ['viewer']],
    ['bob', ['approver']],
  ] as const) {
    const created = await api(cp.url, cp.adminToken, 'POST', '/v1/tokens', {
      name: `e2e-${subject}`,
      scopes,
      subject,
    });
    if (created.status !== 201) throw new Error(JSON.stringify(created.body));
    tokens[subject] = created.body.token as string;
  }
  await pushPolicies(
    cp,
    await (async () => {
      const clone = tempDir('approval-grants-clone');
      await cloneEmbedded(cp, clone);
      return clone;
    })(),
    { 'e2e/approved-deploys.yaml': POLICY },
    'e2e: prod deploys need an approver',
  );
  agent = await AgentProcess.start({
    name: 'approval-grants-agent',
    url: cp.url,
    token: (await createToken(cp, 'e2e-approval-agent', ['agent'])).token,
  });
  const fleet = await api(cp.url, cp.adminToken, 'GET', '/v1/fleet');
  await waitFor(
    'the agent to enforce the active revision',
    async () => (await agent.readyz()).body.revision === fleet.body.activeRevision,
    30_000,
  );
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
      principal: { roles: ['deployer'] },
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
