/**
 * Denial of service by policy, on the real agent process: a signed bundle whose condition is
 * cheap to write and ruinous to evaluate (six nested comprehensions over the caller's roles).
 * One unauthenticated `POST /v1/decide` used to run for over a minute and block every other
 * request; with the cost budget each decision stops at the budget, answers with the bundle's
 * onError effect and says why, and /healthz answers while such decisions are in flight.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POLICY_SET_FORMAT, type CompiledPolicySet } from '@stepgate/policy';
import {
  bundleSigner,
  call,
  cleanup,
  ensureAgentBuilt,
  FakeControlPlane,
  startAgentProcess,
  tempDir,
  waitFor,
  type AgentProcess,
} from './support.js';

/** `principal.roles.all(v1, principal.roles.all(v2, ... v6 != "" ...))`: roles^6 steps. */
function nestedAll(depth: number): string {
  let body = 'true';
  for (let level = depth; level >= 1; level--)
    body = `principal.roles.all(v${level}, ${body} && v${level} != "")`;
  return body;
}

/**
 * Built directly, as a bundle arrives at an agent: the control plane's compile-time estimate
 * would refuse this condition, but an agent must not depend on that.
 */
function costlyPolicySet(onError: 'deny' | 'ignore'): CompiledPolicySet {
  return {
    format: POLICY_SET_FORMAT,
    settings: { defaultEffect: 'deny', onError, levels: [], issuers: [], mask: [] },
    policies: [
      {
        name: 'costly',
        file: 'costly.yaml',
        target: { actions: ['deploy'] },
        rules: [
          { name: 'six-nested', effect: 'allow', mode: 'enforce', when: nestedAll(6) },
          {
            name: 'deployers',
            effect: 'allow',
            mode: 'enforce',
            when: '"deployer" in principal.roles',
          },
        ],
      },
    ],
    data: {},
  };
}

const ROLES = ['deployer', ...Array.from({ length: 39 }, (_, i) => `role-${i}`)];
const COSTLY_REQUEST = {
  principal: { id: 'mallory', roles: ROLES },
  action: 'deploy',
  resource: { kind: 'service', id: 'prod/api' },
};

const dirs: string[] = [];
const agents: AgentProcess[] = [];
const planes: FakeControlPlane[] = [];

beforeAll(async () => {
  await ensureAgentBuilt();
}, 300_000);

afterAll(async () => {
  await Promise.all(agents.map((agent) => agent.kill()));
  await Promise.all(planes.map((plane) => plane.stop()));
  cleanup(...dirs);
});

async function agentWith(set: CompiledPolicySet): Promise<AgentProcess> {
  const signer = await bundleSigner();
  const keysDir = tempDir('keys');
  dirs.push(keysDir);
  const keysFile = join(keysDir, 'jwks.json');
  writeFileSync(keysFile, JSON.stringify(signer.jwks));
  const cp = await FakeControlPlane.start(signer.jwks);
  planes.push(cp);
  cp.publish('active', 1, await signer.sign(set, 1));
  const cacheDir = tempDir('cache');
  dirs.push(cacheDir);
  const agent = await startAgentProcess(
    { STEPGATE_URL: cp.url, STEPGATE_AGENT_TOKEN: cp.token, STEPGATE_TRUSTED_KEYS: keysFile },
    cacheDir,
  );
  agents.push(agent);
  await waitFor('the bundle applied', () => cp.acks.length === 1, 20_000);
  return agent;
}

describe('a bundle whose condition is expensive at run time', () => {
  it('answers /healthz while costly decisions are in flight, and each stops at the budget (onError: deny)', async () => {
    const agent = await agentWith(costlyPolicySet('deny'));

    let inFlight = 0;
    const decisions = Array.from({ length: 4 }, async () => {
      inFlight++;
      try {
        return await call(agent.url, 'POST', '/v1/decide', COSTLY_REQUEST);
      } finally {
        inFlight--;
      }
    });
    const health: number[] = [];
    const probing = (async () => {
      while (inFlight > 0) {
        const response = await fetch(`${agent.url}/healthz`, {
          signal: AbortSignal.timeout(10_000),
        });
        health.push(response.status);
      }
    })();
    const answers = await Promise.all(decisions);
    await probing;

    // The first probe is sent while all four decisions are in flight.
    expect(health.length).toBeGreaterThan(0);
    expect(health.every((status) => status === 200)).toBe(true);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body.effect).toBe('deny');
      expect(answer.body.errors).toEqual([
        expect.objectContaining({
          policy: 'costly',
          rule: 'six-nested',
          code: 'cel/cost',
          message: expect.stringMatching(/^cost budget exceeded/),
        }),
      ]);
      expect(answer.body.reasons).toContainEqual(
        expect.objectContaining({
          rule: 'six-nested',
          message: expect.stringMatching(
            /condition failed \(onError: deny\): cost budget exceeded/,
          ),
        }),
      );
    }
    // The agent is still itself: an ordinary decision is answered as before.
    const ordinary = await call(agent.url, 'POST', '/v1/decide', {
      ...COSTLY_REQUEST,
      principal: { id: 'dora', roles: ['deployer'] },
    });
    expect(ordinary.body).toMatchObject({ effect: 'allow' });
    expect(ordinary.body.errors).toBeUndefined();
  });

  it("a regular expression that backtracks exponentially on the caller's input (ReDoS) does not stall it", async () => {
    const set = costlyPolicySet('deny');
    set.policies[0]!.rules = [
      { name: 'redos', effect: 'allow', mode: 'enforce', when: 'resource.id.matches("^(a+)+$")' },
    ];
    const agent = await agentWith(set);
    const attack = call(agent.url, 'POST', '/v1/decide', {
      ...COSTLY_REQUEST,
      resource: { kind: 'service', id: `${'a'.repeat(40)}!` },
    });
    const health = await fetch(`${agent.url}/healthz`, { signal: AbortSignal.timeout(10_000) });
    expect(health.status).toBe(200);
    const answer = await attack;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ effect: 'deny' });
    expect(answer.body.errors).toBeUndefined();
    const matching = await call(agent.url, 'POST', '/v1/decide', {
      ...COSTLY_REQUEST,
      resource: { kind: 'service', id: 'aaaa' },
    });
    expect(matching.body).toMatchObject({ effect: 'allow' });
  });

  it('with onError: ignore, the costly rule is skipped and the cheap rule decides', async () => {
    const agent = await agentWith(costlyPolicySet('ignore'));
    const answer = await call(agent.url, 'POST', '/v1/decide', COSTLY_REQUEST);
    expect(answer.status).toBe(200);
    expect(answer.body.effect).toBe('allow');
    expect(answer.body.reasons.map((r: { rule: string }) => r.rule)).toEqual(['deployers']);
    expect(answer.body.errors).toEqual([
      expect.objectContaining({ rule: 'six-nested', code: 'cel/cost' }),
    ]);
    expect((await call(agent.url, 'GET', '/healthz')).status).toBe(200);
  });
});
