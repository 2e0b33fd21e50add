/**
 * Replay end to end (issue 14), all real: the control plane (PostgreSQL, Redis, embedded Git)
 * and two agent processes deciding real traffic and shipping their decision records. A stricter
 * candidate is pushed and its replay over that traffic reports exactly the decisions that
 * change, counted by rule, principal and action; a loosening candidate is reported the other
 * way; a replay of the version that decided the traffic changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Replay } from '@stepgate/protocol';
import { startControlPlane, type ControlPlaneProcess } from '../support/control-plane-process.js';
import {
  api,
  createToken,
  ensureControlPlaneBuilt,
  tempDirs,
} from '../integration/control-plane/support.js';
import { cloneEmbedded, pushPolicies } from '../integration/control-plane/step-up-support.js';
import { ensureAgentBuilt } from '../integration/agent/support.js';
import { AgentProcess, decisionIdsOf, startAgents, killAllAgents, waitFor } from './support.js';

const BASE_RULES = `apiVersion: stepgate/v1
kind: Policy
name: e2e-replay
target: { actions: ["rep:*"] }
rules:
  - name: readers
    effect: allow
    when: action == "rep:read"
`;
/** Stricter: reading the secret document needs MFA. */
const STRICTER = `${BASE_RULES}  - name: secret-mfa
    effect: step_up
    when: resource.id == "docs/secret"
    require: { level: mfa }
`;
/** Looser: bob may delete. */
const LOOSER = `${BASE_RULES}  - name: bob-deletes
    effect: allow
    when: action == "rep:delete" && principal.id == "bob"
`;

/** The traffic: who asks which agent for what, and what the first version answers. */
const TRAFFIC = [
  { agent: 'a', principal: 'alice', action: 'rep:read', id: 'docs/public', effect: 'allow' },
  { agent: 'a', principal: 'alice', action: 'rep:read', id: 'docs/public', effect: 'allow' },
  { agent: 'a', principal: 'alice', action: 'rep:read', id: 'docs/secret', effect: 'allow' },
  { agent: 'b', principal: 'bob', action: 'rep:read', id: 'docs/secret', effect: 'allow' },
  { agent: 'b', principal: 'bob', action: 'rep:read', id: 'docs/secret', effect: 'allow' },
  { agent: 'b', principal: 'bob', action: 'rep:delete', id: 'docs/old', effect: 'deny' },
  { agent: 'a', principal: 'carol', action: 'rep:delete', id: 'docs/old', effect: 'deny' },
] as const;

const temp = tempDirs();
let cp: ControlPlaneProcess;
let work: string;
let operator: string;
let first: number;
let since: string;
let until: string;
const agents: Record<'a' | 'b', AgentProcess> = {} as Record<'a' | 'b', AgentProcess>;

async function replay(version: number): Promise<Replay> {
  const started = await api(cp.url, operator, 'POST', `/v1/versions/${version}/replay`, {
    since,
    until,
  });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  const id = started.body.id as string;
  let current: Replay | undefined;
  await waitFor(
    `replay ${id} done`,
    async () => {
      current = (await api(cp.url, operator, 'GET', `/v1/replays/${id}`)).body as Replay;
      return current.status !== 'queued' && current.status !== 'running';
    },
    60_000,
  );
  expect(current?.status, JSON.stringify(current)).toBe('done');
  return current as Replay;
}

const counts = (groups: { count: number }[], key: (g: any) => string) =>
  Object.fromEntries(groups.map((group) => [key(group), group.count]));

beforeAll(async () => {
  await Promise.all([ensureControlPlaneBuilt(), ensureAgentBuilt()]);
  cp = await startControlPlane();
  work = temp.make('replay-e2e');
  await cloneEmbedded(cp, work);
  const version = await pushPolicies(cp, work, { 'e2e-replay.yaml': BASE_RULES }, 'Replay base');
  expect(version.active, JSON.stringify(version)).toBe(true);
  first = version.number;
  operator = (await createToken(cp, 'e2e-replay-operator', ['operator'])).token;
  [agents.a, agents.b] = (await startAgents(cp, 'replay', ['a', 'b'])) as [
    AgentProcess,
    AgentProcess,
  ];
  // Deciding by the policies (not the fail mode) before any traffic counts.
  for (const agent of Object.values(agents))
    await waitFor(
      `${agent.name} decides with version ${first}`,
      async () =>
        (
          (
            await agent.decide({
              principal: { id: 'warm-up' },
              action: 'rep:read',
              resource: { kind: 'doc', id: 'docs/public' },
            })
          ).body as { effect?: string }
        ).effect === 'allow',
      60_000,
    );
  // After the warm-up decisions: they are logged too, and must stay out of the window.
  await new Promise((resolve) => setTimeout(resolve, 50));
  since = new Date().toISOString();
  for (const request of TRAFFIC) {
    const reply = await agents[request.agent].decide({
      principal: { id: request.principal },
      action: request.action,
      resource: { kind: 'doc', id: request.id },
    });
    expect((reply.body as { effect?: string }).effect, JSON.stringify(reply.body)).toBe(
      request.effect,
    );
  }
  // Every record shipped and stored before the window closes.
  for (const name of ['a', 'b'] as const) {
    const expected = TRAFFIC.filter((request) => request.agent === name).length;
    await waitFor(
      `agent ${name}'s ${expected} records stored`,
      async () => (await decisionIdsOf(cp, operator, `e2e-replay-${name}`)).size >= expected,
      60_000,
    );
  }
  until = new Date(Date.now() + 1000).toISOString();
}, 400_000);

afterAll(async () => {
  await killAllAgents();
  await cp?.destroy();
  temp.cleanup();
});

describe('replay over traffic two real agents decided', () => {
  it('the version that decided the traffic changes nothing', async () => {
    const { result } = await replay(first);
    expect(result?.totals).toEqual({
      records: TRAFFIC.length,
      replayed: TRAFFIC.length,
      changed: 0,
      notReplayable: 0,
    });
  }, 120_000);

  it('a stricter candidate reports exactly the reads of the secret document, by rule, principal and action', async () => {
    const stricter = await pushPolicies(
      cp,
      work,
      { 'e2e-replay.yaml': STRICTER },
      'Secret needs MFA',
    );
    const { result } = await replay(stricter.number);
    expect(result?.totals).toMatchObject({ records: TRAFFIC.length, changed: 3 });
    expect(counts(result?.changes ?? [], (g) => g.change)).toEqual({ 'allow -> step_up': 3 });
    expect(counts(result?.byRule ?? [], (g) => `${g.policy}/${g.rule}`)).toEqual({
      'e2e-replay/secret-mfa': 3,
    });
    expect(counts(result?.byPrincipal ?? [], (g) => g.principal)).toEqual({ alice: 1, bob: 2 });
    expect(counts(result?.byAction ?? [], (g) => g.action)).toEqual({ 'rep:read': 3 });
    const examples = result?.changes[0]?.examples ?? [];
    expect(examples.length).toBeGreaterThan(0);
    for (const example of examples) {
      expect(example.resource.id).toBe('docs/secret');
      expect(example.after).toMatchObject({ effect: 'step_up', require: { level: 'mfa' } });
    }
  }, 180_000);

  it('a loosening candidate reports the deny that becomes an allow', async () => {
    const looser = await pushPolicies(cp, work, { 'e2e-replay.yaml': LOOSER }, 'Bob deletes');
    const { result } = await replay(looser.number);
    expect(result?.totals).toMatchObject({ records: TRAFFIC.length, changed: 1 });
    expect(counts(result?.changes ?? [], (g) => g.change)).toEqual({ 'deny -> allow': 1 });
    expect(counts(result?.byPrincipal ?? [], (g) => g.principal)).toEqual({ bob: 1 });
    expect(result?.changes[0]?.examples[0]).toMatchObject({
      principal: 'bob',
      action: 'rep:delete',
      before: { effect: 'deny' },
      after: { effect: 'allow' },
    });
  }, 180_000);
});
