/**
 * Taking over an agent, tried as an attacker would (issue 10, "Agent takeover through key
 * pinning"): the real control plane (PostgreSQL, Redis, embedded Git), the real agent process,
 * and a rogue control plane (a real socket.io server speaking the agent protocol) that an agent
 * reaches through DNS spoofing or a man-in-the-middle on plain http. Also the legitimate
 * rotation of the bundle-signing key, and the operator's way out of a poisoned cache.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile, type CompiledPolicySet } from '@stepgate/policy';
import {
  generateSigningKey,
  importSigningKey,
  signGrantsMessage,
  signShadowCleared,
  type Ed25519PrivateJwk,
} from '@stepgate/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import {
  api,
  commit,
  createToken,
  embeddedRepoUrl,
  ensureControlPlaneBuilt,
  gitOk,
  validPolicyFiles,
} from '../control-plane/support.js';
import { DENIED, STEP_UP } from './fixtures.js';
import {
  bundleSigner,
  call,
  cleanup,
  ensureAgentBuilt,
  examplePolicies,
  FakeControlPlane,
  grantClaims,
  startAgentProcess,
  tempDir,
  waitFor,
  type AgentProcess,
  type BundleSigner,
} from './support.js';

/** What the rogue wants enforced: everything allowed. */
const ALLOW_ALL: CompiledPolicySet = (() => {
  const result = compile([
    {
      path: 'stepgate.yaml',
      content: 'apiVersion: stepgate/v1\nkind: Settings\ndefaultEffect: allow\nonError: ignore\n',
    },
    {
      path: 'rogue.yaml',
      content:
        'apiVersion: stepgate/v1\nkind: Policy\nname: rogue\nrules:\n  - name: everything\n    effect: allow\n',
    },
  ]);
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.policySet;
})();
const FAR_FUTURE = 2_000_000_000;

const dirs: string[] = [];
const running: AgentProcess[] = [];
const planes: FakeControlPlane[] = [];
const controlPlanes: ControlPlaneProcess[] = [];
let rogue: BundleSigner;

beforeAll(async () => {
  await Promise.all([ensureControlPlaneBuilt(), ensureAgentBuilt()]);
  rogue = await bundleSigner();
}, 600_000);

afterEach(async () => {
  await Promise.all(running.splice(0).map((agent) => agent.kill()));
  await Promise.all(planes.splice(0).map((plane) => plane.stop()));
});

afterAll(async () => {
  await Promise.all(controlPlanes.splice(0).map((cp) => cp.destroy()));
  cleanup(...dirs);
}, 60_000);

function cacheDir(): string {
  const dir = tempDir('takeover');
  dirs.push(dir);
  return dir;
}

async function controlPlane(env: Record<string, string> = {}): Promise<ControlPlaneProcess> {
  const cp = await startControlPlane(env);
  controlPlanes.push(cp);
  return cp;
}

async function agent(
  env: Record<string, string>,
  dir: string,
  args: string[] = [],
): Promise<AgentProcess> {
  const started = await startAgentProcess(env, dir, args);
  running.push(started);
  return started;
}

async function readyz(a: AgentProcess): Promise<any> {
  return (await call(a.url, 'GET', '/readyz')).body;
}

async function decide(a: AgentProcess, input: unknown): Promise<any> {
  return (await call(a.url, 'POST', '/v1/decide', input)).body;
}

async function fleet(cp: ControlPlaneProcess): Promise<any> {
  const response = await api(cp.url, cp.adminToken, 'GET', '/v1/fleet');
  expect(response.status).toBe(200);
  return response.body;
}

/** The active revision of the real control plane, once a version is active. */
async function activeRevision(cp: ControlPlaneProcess): Promise<number> {
  let revision: number | null = null;
  await waitFor('an active version', async () => {
    revision = (await fleet(cp)).activeRevision;
    return revision !== null;
  });
  return revision!;
}

/** Pushes a new, valid policy to the embedded repository: the next real revision. */
async function pushNewVersion(cp: ControlPlaneProcess, tag: string): Promise<void> {
  const work = tempDir('clone');
  dirs.push(work);
  await gitOk(['clone', '--quiet', embeddedRepoUrl(cp, cp.adminToken), work]);
  await commit(work, validPolicyFiles(tag), `Takeover suite: ${tag}`);
  await gitOk(['push', '--quiet', 'origin', 'main'], work);
}

async function waitRevision(a: AgentProcess, revision: number): Promise<void> {
  await waitFor(`the agent on revision ${revision}`, async () => {
    return (await readyz(a)).revision === revision;
  });
}

function pinnedKids(dir: string): string[] {
  const pinned = JSON.parse(readFileSync(join(dir, 'trusted-keys.json'), 'utf8'));
  return pinned.keys.map((key: { kid: string }) => key.kid);
}

describe('a rogue control plane', () => {
  it('cannot pin its own key and lock the agent on a far-future allow-all bundle', async () => {
    const cp = await controlPlane();
    const token = (await createToken(cp, 'takeover-a', ['agent'])).token;
    const dir = cacheDir();
    const env = { STEPGATE_AGENT_TOKEN: token, STEPGATE_AGENT_ID: 'takeover-a' };

    // Trust on first use: the agent pins the real key and enforces the real policies.
    const first = await agent({ ...env, STEPGATE_URL: cp.url }, dir);
    const real = await activeRevision(cp);
    await waitRevision(first, real);
    const realKids = pinnedKids(dir);
    expect((await decide(first, DENIED)).effect).toBe('deny');
    await first.stop();

    // Pointed at the rogue: a new kid, then an allow-all bundle at a far-future revision.
    const impostor = await FakeControlPlane.start(rogue.jwks, token);
    planes.push(impostor);
    impostor.publish('active', FAR_FUTURE, await rogue.sign(ALLOW_ALL, FAR_FUTURE));
    const fooled = await agent({ ...env, STEPGATE_URL: impostor.url }, dir);
    await waitFor(
      'the agent to answer the rogue bundle',
      () => impostor.acks.length + impostor.rejections.length > 0,
    );
    expect(impostor.acks).toEqual([]);
    expect(impostor.rejections).toEqual([
      {
        kind: 'active',
        revision: FAR_FUTURE,
        reason: expect.stringMatching(/no endorsement from a trusted key/),
      },
    ]);
    // The rejection reaches the fake control plane over the socket; the log line that goes
    // with it comes through the agent's stdout pipe, which may be a moment later.
    await waitFor('the agent to log the refused keys', () =>
      fooled.output().includes('refused bundle-signing keys'),
    );
    expect((await decide(fooled, DENIED)).effect).toBe('deny');
    expect((await readyz(fooled)).revision).toBe(real);
    expect(pinnedKids(dir)).toEqual(realKids);
    await fooled.stop();

    // Back on the real control plane: the next real revision applies, the fleet converges on it.
    const back = await agent({ ...env, STEPGATE_URL: cp.url }, dir);
    await pushNewVersion(cp, 'after-takeover');
    let next = real;
    await waitFor('a newer real revision', async () => (next = await activeRevision(cp)) > real);
    await waitRevision(back, next);
    expect((await decide(back, DENIED)).effect).toBe('deny');
    await waitFor('the fleet to converge', async () => (await fleet(cp)).converged === true);
    // It never held a revision the control plane did not issue: nothing for the fleet to flag.
    expect((await fleet(cp)).suspect).toEqual([]);
  }, 240_000);

  it('cannot move an agent far past its revision even with a bundle a trusted key signed', async () => {
    // A leaked key, or a bundle signed for another deployment: one jump is bounded.
    const signer = await bundleSigner();
    const keysFile = join(cacheDir(), 'jwks.json');
    writeFileSync(keysFile, JSON.stringify(signer.jwks));
    const plane = await FakeControlPlane.start(signer.jwks);
    planes.push(plane);
    plane.publish('active', 5, await signer.sign(examplePolicies(), 5));
    const a = await agent(
      {
        STEPGATE_URL: plane.url,
        STEPGATE_AGENT_TOKEN: plane.token,
        STEPGATE_TRUSTED_KEYS: keysFile,
        STEPGATE_MAX_REVISION_STEP: '1000',
      },
      cacheDir(),
    );
    await waitRevision(a, 5);
    plane.publish('active', 5 + 1001, await signer.sign(ALLOW_ALL, 5 + 1001));
    await waitFor('the agent to answer', () => plane.acks.length + plane.rejections.length > 1);
    expect(plane.acks.map((ack) => ack.revision)).toEqual([5]);
    expect(plane.rejections[0]).toMatchObject({
      revision: 1006,
      reason: expect.stringMatching(/more than 1000 past/),
    });
    expect((await decide(a, DENIED)).effect).toBe('deny');
    // Within the step, real updates still apply.
    plane.publish('active', 1005, await signer.sign(examplePolicies(), 1005));
    await waitRevision(a, 1005);
  }, 240_000);

  it('cannot revoke grants or clear the shadow with unsigned or forged statements', async () => {
    const signer = await bundleSigner();
    const keysFile = join(cacheDir(), 'jwks.json');
    writeFileSync(keysFile, JSON.stringify(signer.jwks));
    const legit = await FakeControlPlane.start(signer.jwks);
    planes.push(legit);
    legit.publish('active', 1, await signer.sign(examplePolicies(), 1));
    legit.publish('shadow', 2, await signer.sign(examplePolicies(), 2, { kind: 'shadow' }));
    const grant = grantClaims('paul', { actions: ['secrets:*'], resources: ['payments/**'] });
    const dir = cacheDir();
    const env = { STEPGATE_AGENT_TOKEN: legit.token, STEPGATE_TRUSTED_KEYS: keysFile };
    const first = await agent({ ...env, STEPGATE_URL: legit.url }, dir);
    await waitFor('both bundles', async () => (await readyz(first)).shadowRevision === 2);
    legit.pushGrants({ full: false, grants: [await signer.grant(grant)], revoked: [] });
    await waitFor('the grant', async () => (await decide(first, STEP_UP)).effect === 'allow');
    await first.stop();

    const impostor = await FakeControlPlane.start(rogue.jwks, legit.token);
    planes.push(impostor);
    const fooled = await agent({ ...env, STEPGATE_URL: impostor.url }, dir);
    await waitFor('the connection', () => impostor.connectedAgents() === 1);
    // On connect the rogue already sent an unsigned, empty full set; now unsigned and forged
    // revocations and shadow clears (the latter far in the future, to refuse every later shadow).
    const rogueKey = rogue.key;
    impostor.send('grants', { full: false, grants: [], revoked: [grant.id] });
    impostor.send(
      'grants',
      await signGrantsMessage({ full: false, grants: [], revoked: [grant.id] }, rogueKey),
    );
    impostor.send('shadow:cleared', { revision: FAR_FUTURE });
    impostor.send('shadow:cleared', await signShadowCleared(FAR_FUTURE, rogueKey));
    await waitFor(
      'the agent to handle the forgeries',
      async () =>
        (await decide(fooled, STEP_UP)).effect !== 'allow' ||
        (await readyz(fooled)).shadowRevision === undefined ||
        (fooled.output().includes('unsigned shadow:cleared message') &&
          fooled.output().includes('"msg":"shadow clear refused"')),
    );
    expect(await decide(fooled, STEP_UP)).toMatchObject({ effect: 'allow', grants: [grant.id] });
    expect((await readyz(fooled)).shadowRevision).toBe(2);
    // Refused removals are reported once per message (the full set on connect, unsigned, forged).
    await waitFor(
      'the refused removals',
      () => (fooled.output().match(/grant removals refused/g) ?? []).length >= 3,
    );
    expect(await decide(fooled, STEP_UP)).toMatchObject({ effect: 'allow', grants: [grant.id] });

    // The real control plane's signed revocation and clear still work.
    await fooled.stop();
    legit.signWith(signer.key);
    const back = await agent({ ...env, STEPGATE_URL: legit.url }, dir);
    await legit.pushGrants({ full: false, grants: [], revoked: [grant.id] });
    await waitFor('the revocation', async () => (await decide(back, STEP_UP)).effect === 'step_up');
    await legit.clearShadow(3);
    await waitFor('the clear', async () => (await readyz(back)).shadowRevision === undefined);
  }, 240_000);
});

describe('rotating the bundle-signing key', () => {
  it('reaches agents that pinned an older key through the chain of endorsements', async () => {
    const [k1, k2, k3, k4] = await Promise.all([key(), key(), key(), key()]);
    // Mutated between restarts: startControlPlane reads it again on every (re)start.
    const env: Record<string, string> = { STEPGATE_SIGNING_KEY: k1.text };
    const cp = await controlPlane(env);
    const online = (await createToken(cp, 'rotation-online', ['agent'])).token;
    const offline = (await createToken(cp, 'rotation-offline', ['agent'])).token;
    const onlineDir = cacheDir();
    const offlineDir = cacheDir();
    const r1 = await activeRevision(cp);
    const a = await agent(
      { STEPGATE_URL: cp.url, STEPGATE_AGENT_TOKEN: online, STEPGATE_AGENT_ID: 'rotation-online' },
      onlineDir,
    );
    const b = await agent(
      {
        STEPGATE_URL: cp.url,
        STEPGATE_AGENT_TOKEN: offline,
        STEPGATE_AGENT_ID: 'rotation-offline',
      },
      offlineDir,
    );
    await Promise.all([waitRevision(a, r1), waitRevision(b, r1)]);
    expect(pinnedKids(onlineDir)).toEqual([k1.kid]);
    await b.stop(); // b sleeps through both rotations

    // Rotation 1: the new key, with the previous one available for the switch.
    Object.assign(env, { STEPGATE_SIGNING_KEY: k2.text, STEPGATE_SIGNING_KEY_PREVIOUS: k1.text });
    await cp.restart();
    await pushNewVersion(cp, 'rotation-1');
    let r2 = r1;
    await waitFor('revision 2', async () => (r2 = await activeRevision(cp)) > r1);
    await waitRevision(a, r2);
    expect(pinnedKids(onlineDir)).toEqual([k1.kid, k2.kid]);

    // Rotation 2, after the previous key k1 is gone from the configuration.
    Object.assign(env, { STEPGATE_SIGNING_KEY: k3.text, STEPGATE_SIGNING_KEY_PREVIOUS: k2.text });
    await cp.restart();
    delete env.STEPGATE_SIGNING_KEY_PREVIOUS;
    await cp.restart();
    await pushNewVersion(cp, 'rotation-2');
    let r3 = r2;
    await waitFor('revision 3', async () => (r3 = await activeRevision(cp)) > r2);
    await waitRevision(a, r3);
    expect(pinnedKids(onlineDir)).toEqual([k1.kid, k2.kid, k3.kid]);

    // The agent that slept walks k1 -> k2 -> k3 and applies the bundle k3 signed.
    const woken = await agent(
      {
        STEPGATE_URL: cp.url,
        STEPGATE_AGENT_TOKEN: offline,
        STEPGATE_AGENT_ID: 'rotation-offline',
      },
      offlineDir,
    );
    await waitRevision(woken, r3);
    expect(pinnedKids(offlineDir)).toEqual([k1.kid, k2.kid, k3.kid]);
    expect((await decide(woken, DENIED)).effect).toBe('deny');
    await woken.stop();

    // A new key without the previous one: the control plane says so, agents refuse its bundles.
    env.STEPGATE_SIGNING_KEY = k4.text;
    await cp.restart();
    expect(cp.output()).toContain('the signing key has no endorsement from an earlier key');
    await pushNewVersion(cp, 'rotation-unendorsed');
    let r4 = r3;
    await waitFor('revision 4', async () => (r4 = await activeRevision(cp)) > r3);
    await waitFor('the refusal in GET /v1/agents', async () => {
      const listed = await api(cp.url, cp.adminToken, 'GET', '/v1/agents');
      const online = listed.body.agents.find((row: { id: string }) => row.id === 'rotation-online');
      return /offered with no endorsement from a trusted key/.test(online?.lastRejection ?? '');
    });
    expect((await readyz(a)).revision).toBe(r3);
    expect(pinnedKids(onlineDir)).not.toContain(k4.kid);
    // The operator's fix: start once with the previous key; the agent follows.
    env.STEPGATE_SIGNING_KEY_PREVIOUS = k3.text;
    await cp.restart();
    await waitRevision(a, r4);
    expect(pinnedKids(onlineDir)).toEqual([k1.kid, k2.kid, k3.kid, k4.kid]);
  }, 360_000);
});

describe('recovering an agent whose cache was poisoned', () => {
  it('--reset-trust says what it discards, drops cache and pins, and pins again', async () => {
    const cp = await controlPlane();
    const token = (await createToken(cp, 'takeover-reset', ['agent'])).token;
    const dir = cacheDir();
    const env = {
      STEPGATE_URL: cp.url,
      STEPGATE_AGENT_TOKEN: token,
      STEPGATE_AGENT_ID: 'takeover-reset',
    };
    const real = await activeRevision(cp);
    const first = await agent(env, dir);
    await waitRevision(first, real);
    const realKids = pinnedKids(dir);
    await first.stop();

    // What an agent taken over before this fix holds: the rogue key pinned, its bundle cached.
    const pinned = JSON.parse(readFileSync(join(dir, 'trusted-keys.json'), 'utf8'));
    writeFileSync(
      join(dir, 'trusted-keys.json'),
      JSON.stringify({ keys: [...pinned.keys, ...rogue.jwks.keys] }),
    );
    writeFileSync(join(dir, 'active.bundle.jws'), await rogue.sign(ALLOW_ALL, FAR_FUTURE));
    const poisoned = await agent(env, dir);
    expect(await decide(poisoned, DENIED)).toMatchObject({ effect: 'allow', revision: FAR_FUTURE });
    // What the operator sees: the fleet flags the revision it never issued.
    await waitFor('the fleet to flag the agent', async () =>
      (await fleet(cp)).suspect.some(
        (flagged: { id: string; revision: number }) =>
          flagged.id === 'takeover-reset' && flagged.revision === FAR_FUTURE,
      ),
    );
    await poisoned.stop();

    const reset = await agent(env, dir, ['--reset-trust']);
    expect(reset.output()).toMatch(/discarded the cached active bundle.*2000000000/);
    expect(reset.output()).toContain(rogue.kid);
    await waitRevision(reset, real);
    expect((await decide(reset, DENIED)).effect).toBe('deny');
    expect(pinnedKids(dir)).toEqual(realKids);
    await waitFor('the fleet to converge', async () => (await fleet(cp)).converged === true);
    expect((await fleet(cp)).suspect).toEqual([]);
  }, 240_000);
});

async function key(): Promise<{ kid: string; text: string }> {
  const generated = await generateSigningKey();
  const jwk: Ed25519PrivateJwk = generated.privateJwk;
  return { kid: (await importSigningKey(jwk)).kid, text: JSON.stringify(jwk) };
}
