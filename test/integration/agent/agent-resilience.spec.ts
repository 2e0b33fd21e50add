/**
 * Failure behaviour of the real agent process (DESIGN "Failure behaviour"): control plane
 * gone, restarts from the disk cache, corrupted cache, fail modes, staleness, decision logs
 * across outages, bad input.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ALLOWED, DENIED } from './fixtures.js';
import {
  bundleSigner,
  call,
  cleanup,
  ensureAgentBuilt,
  examplePolicies,
  FakeControlPlane,
  sleep,
  startAgentProcess,
  tempDir,
  waitFor,
  type AgentProcess,
  type BundleSigner,
} from './support.js';

let signer: BundleSigner;
let keysFile: string;
const dirs: string[] = [];
const running: AgentProcess[] = [];
const planes: FakeControlPlane[] = [];
const EXAMPLES = examplePolicies();

beforeAll(async () => {
  await ensureAgentBuilt();
  signer = await bundleSigner();
  const dir = tempDir('keys');
  dirs.push(dir);
  keysFile = join(dir, 'jwks.json');
  writeFileSync(keysFile, JSON.stringify(signer.jwks));
}, 300_000);

afterEach(async () => {
  await Promise.all(running.splice(0).map((agent) => agent.kill()));
  await Promise.all(planes.splice(0).map((plane) => plane.stop()));
});

afterAll(() => cleanup(...dirs));

async function plane(revision = 1): Promise<FakeControlPlane> {
  const cp = await FakeControlPlane.start(signer.jwks);
  planes.push(cp);
  cp.publish('active', revision, await signer.sign(EXAMPLES, revision));
  return cp;
}

async function agent(
  cp: FakeControlPlane,
  env: Record<string, string> = {},
  cacheDir?: string,
): Promise<AgentProcess> {
  const dir = cacheDir ?? tempDir('cache');
  if (!cacheDir) dirs.push(dir);
  const started = await startAgentProcess(
    {
      STEPGATE_URL: cp.url,
      STEPGATE_AGENT_TOKEN: cp.token,
      STEPGATE_TRUSTED_KEYS: keysFile,
      ...env,
    },
    dir,
  );
  running.push(started);
  return started;
}

const decide = (a: AgentProcess, input: unknown = ALLOWED) =>
  call(a.url, 'POST', '/v1/decide', input);

describe('control plane outages', () => {
  it('keeps deciding and buffering while the control plane is gone, then delivers every record', async () => {
    const cp = await plane();
    const a = await agent(cp);
    await waitFor('the ack', () => cp.acks.length === 1);

    await cp.stop();
    await waitFor(
      'the disconnect',
      async () => (await call(a.url, 'GET', '/readyz')).body.connected === false,
    );
    const ids: string[] = [];
    for (let i = 0; i < 1200; i++) {
      const response = await decide(a, i % 3 === 0 ? DENIED : ALLOWED);
      expect(response.body.failReason).toBeUndefined();
      ids.push(response.body.decisionId);
    }
    const buffered = await call(a.url, 'GET', '/metrics');
    expect(buffered.body).toMatch(/stepgate_agent_log_buffer_records 1200/);

    await cp.listen();
    await waitFor('every record', () => cp.records().length >= 1200, 20_000);
    const received = cp.records().map((r) => r.decisionId);
    expect(new Set(received).size).toBe(received.length);
    expect(received.sort()).toEqual([...ids].sort());
    expect(cp.invalidBatches).toEqual([]);
    expect(cp.batches.every((batch) => batch.records.length <= 500 && batch.dropped === 0)).toBe(
      true,
    );
    // It said what it held and was sent nothing new.
    expect(cp.handshakes.at(-1)?.revisions).toEqual({ active: 1 });
    expect(cp.acks).toHaveLength(1);
  });

  it('drops the oldest records beyond the buffer bound and reports how many', async () => {
    const cp = await plane();
    const a = await agent(cp, { STEPGATE_LOG_BUFFER: '50' });
    await waitFor('the ack', () => cp.acks.length === 1);
    await cp.stop();
    await waitFor(
      'the disconnect',
      async () => (await call(a.url, 'GET', '/readyz')).body.connected === false,
    );
    const ids: string[] = [];
    for (let i = 0; i < 80; i++) ids.push((await decide(a)).body.decisionId);
    expect((await call(a.url, 'GET', '/metrics')).body).toContain(
      'stepgate_agent_log_records_dropped_total 30',
    );

    await cp.listen();
    await waitFor('the kept records', () => cp.records().length >= 50);
    await sleep(1500);
    expect(cp.records().map((r) => r.decisionId)).toEqual(ids.slice(30));
    expect(cp.batches.reduce((sum, batch) => sum + batch.dropped, 0)).toBe(30);
  });

  it('re-sends a batch the control plane did not accept, and never an acked one', async () => {
    const cp = await plane();
    let refusals = 0;
    cp.answerLogs = () =>
      refusals++ < 2 ? { ok: false, error: 'ingest queue unavailable' } : { ok: true };
    const a = await agent(cp);
    await waitFor('the ack', () => cp.acks.length === 1);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await decide(a)).body.decisionId);
    await waitFor('the records', () => cp.records().length >= 20, 20_000);
    await sleep(1200);
    expect(cp.records().map((r) => r.decisionId)).toEqual(ids);
  });

  it('flushes the decision log on SIGTERM', async () => {
    const cp = await plane();
    const a = await agent(cp);
    await waitFor('the ack', () => cp.acks.length === 1);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await decide(a)).body.decisionId);
    expect(await a.stop()).toBe(0);
    expect(cp.records().map((r) => r.decisionId)).toEqual(expect.arrayContaining(ids));
  });
});

describe('restarts and the disk cache', () => {
  it('serves from its disk cache when restarted with the control plane down', async () => {
    const cp = await plane(4);
    const first = await agent(cp);
    await waitFor('the ack', () => cp.acks.length === 1);
    await first.stop();
    await cp.stop();

    const again = await agent(cp, {}, first.cacheDir);
    const decision = await decide(again, DENIED);
    expect(decision.body).toMatchObject({
      effect: 'deny',
      revision: 4,
      reasons: [{ rule: 'blocked-country' }],
    });
    expect((await decide(again)).body).toMatchObject({ effect: 'allow', revision: 4 });
    expect((await call(again.url, 'GET', '/readyz')).body).toMatchObject({
      ready: true,
      connected: false,
      revision: 4,
    });
    expect(again.output()).toContain('"source":"cache"');
    console.info(
      `agent restarted from its cache answered /healthz ${Math.round(again.readyInMs)} ms after spawn`,
    );

    // The control plane returns: the agent announces revision 4 and is sent nothing.
    await cp.listen();
    await waitFor('the reconnect', () => cp.handshakes.length === 2);
    expect(cp.handshakes[1]?.revisions).toEqual({ active: 4 });
  });

  it.each([
    [
      'the signature',
      (jws: string) => `${jws.slice(0, -6)}${jws.slice(-6) === 'AAAAAA' ? 'BBBBBB' : 'AAAAAA'}`,
    ],
    [
      'the payload',
      (jws: string) =>
        jws.replace(/\.(.{20})/, (_m, part: string) => `.${part.split('').reverse().join('')}`),
    ],
    ['the whole file', () => 'garbage'],
  ])('refuses a cache with a corrupted %s and applies the fail mode', async (_what, corrupt) => {
    const cp = await plane();
    const first = await agent(cp);
    await waitFor('the ack', () => cp.acks.length === 1);
    await first.stop();
    await cp.stop();
    const file = join(first.cacheDir, 'active.bundle.jws');
    writeFileSync(file, corrupt(readFileSync(file, 'utf8')));

    const closed = await agent(cp, {}, first.cacheDir);
    expect((await decide(closed)).body).toMatchObject({
      effect: 'deny',
      failReason: 'no_bundle',
      reasons: [{ rule: 'fail_closed/no_bundle' }],
    });
    expect((await call(closed.url, 'GET', '/readyz')).status).toBe(503);
    expect(closed.output()).toContain('cached active bundle refused');
    await closed.stop();

    const open = await agent(cp, { STEPGATE_FAIL_MODE: 'open' }, first.cacheDir);
    expect((await decide(open, DENIED)).body).toMatchObject({
      effect: 'allow',
      failReason: 'no_bundle',
    });
    expect((await call(open.url, 'GET', '/readyz')).status).toBe(200);
  });
});

describe('fail modes and staleness', () => {
  it('fails closed with no bundle at all, and open when configured', async () => {
    const cp = await FakeControlPlane.start(signer.jwks);
    planes.push(cp);
    const closed = await agent(cp);
    const denied = await decide(closed);
    expect(denied.body).toMatchObject({ effect: 'deny', failReason: 'no_bundle', revision: 0 });
    const proxied = await call(closed.url, 'GET', '/v1/authz/http', undefined, {
      'x-original-uri': '/x',
    });
    expect(proxied.status).toBe(403);

    const open = await agent(cp, { STEPGATE_FAIL_MODE: 'open' });
    expect((await decide(open, DENIED)).body).toMatchObject({
      effect: 'allow',
      failReason: 'no_bundle',
      reasons: [{ rule: 'fail_open/no_bundle' }],
    });
    expect(
      (await call(open.url, 'GET', '/v1/authz/http', undefined, { 'x-original-uri': '/x' })).status,
    ).toBe(200);

    // The first bundle ends the fail mode.
    cp.publish('active', 1, await signer.sign(EXAMPLES, 1));
    await waitFor('the bundle', async () => (await decide(closed)).body.effect === 'allow');
  });

  it('applies the fail mode once the bundle is older than maxStaleness while disconnected', async () => {
    const cp = await plane();
    const a = await agent(cp, { STEPGATE_MAX_STALENESS: '2s' });
    await waitFor('the ack', () => cp.acks.length === 1);
    // Connected, the bundle never goes stale.
    await sleep(2500);
    expect((await decide(a)).body).toMatchObject({ effect: 'allow' });

    await cp.stop();
    await waitFor(
      'the disconnect',
      async () => (await call(a.url, 'GET', '/readyz')).body.connected === false,
    );
    expect((await decide(a)).body.effect).toBe('allow');
    await sleep(2300);
    expect((await decide(a)).body).toMatchObject({
      effect: 'deny',
      failReason: 'stale_bundle',
      revision: 1,
      reasons: [{ rule: 'fail_closed/stale_bundle' }],
    });
    const ready = await call(a.url, 'GET', '/readyz');
    expect(ready).toMatchObject({ status: 503, body: { failReason: 'stale_bundle' } });

    await cp.listen();
    await waitFor('the reconnect', async () => (await decide(a)).body.effect === 'allow');
  });
});

describe('bad input', () => {
  it('answers 4xx with a message and stays up', async () => {
    const cp = await plane();
    const a = await agent(cp);
    await waitFor('the ack', () => cp.acks.length === 1);
    const cases: [string, string, unknown, number, RegExp][] = [
      ['POST', '/v1/decide', '{not json', 400, /not valid JSON/],
      ['POST', '/v1/decide', '', 400, /empty/],
      ['POST', '/v1/decide', [1, 2], 400, /JSON object/],
      ['POST', '/v1/decide', 'null', 400, /JSON object/],
      ['POST', '/v1/decide', { ...ALLOWED, extra: 1 }, 400, /unknown field "extra"/],
      [
        'POST',
        '/v1/decide',
        { ...ALLOWED, principal: { id: 'x', roles: 'admin' } },
        400,
        /principal.roles/,
      ],
      [
        'POST',
        '/v1/decide',
        { ...ALLOWED, principal: { id: 'x', nickname: 'y' } },
        400,
        /principal.nickname/,
      ],
      ['POST', '/v1/decide', { ...ALLOWED, action: 42 }, 400, /action/],
      ['POST', '/v1/decide', { ...ALLOWED, resource: { kind: 'x' } }, 400, /resource/],
      ['POST', '/v1/decide', { ...ALLOWED, context: 'x' }, 400, /context/],
      ['POST', '/v1/decide', '{"__proto__": {"x": 1}, "principal": {"id": "a"}}', 400, /__proto__/],
      ['POST', '/v1/decide', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, 400, /JSON object/],
      [
        'POST',
        '/access/v1/evaluation',
        { subject: { id: 'x' }, action: { name: 'a' }, resource: { type: 't', id: 'i' } },
        400,
        /subject.type/,
      ],
      [
        'POST',
        '/access/v1/evaluation',
        {
          subject: { type: 'u', id: 'x' },
          action: { name: 'a', properties: ['soft'] },
          resource: { type: 't', id: 'i' },
        },
        400,
        /action.properties must be an object/,
      ],
      ['POST', '/access/v1/evaluations', { evaluations: 'x' }, 400, /subject|evaluations/],
      ['GET', '/v1/authz/http', undefined, 400, /percent-encoding/],
      ['GET', '/v1/decide', undefined, 405, /accepts POST/],
      ['GET', '/nope', undefined, 404, /no route/],
      ['GET', '/__proto__', undefined, 404, /no route/],
      ['GET', '/constructor', undefined, 404, /no route/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const headers: Record<string, string> =
        path === '/v1/authz/http' ? { 'x-original-uri': '/%zz' } : {};
      const response = await call(a.url, method, path, body, headers);
      expect({ path, body, status: response.status }).toEqual({ path, body, status });
      expect(response.body.message).toMatch(message);
      if (status === 400) expect(response.body.error).toBe('request/invalid');
    }

    const huge = await fetch(`${a.url}/v1/decide`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...ALLOWED, context: { blob: 'x'.repeat(2 * 1024 * 1024) } }),
    });
    expect(huge.status).toBe(413);

    expect(a.alive()).toBe(true);
    expect((await call(a.url, 'GET', '/healthz')).status).toBe(200);
    expect((await decide(a)).body.effect).toBe('allow');
  });

  it('exits with 2 and one line for bad configuration', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /STEPGATE_AGENT_TOKEN is required/],
      [
        { STEPGATE_AGENT_TOKEN: 't', STEPGATE_FAIL_MODE: 'sometimes' },
        /STEPGATE_FAIL_MODE must be one of closed, open/,
      ],
      [
        { STEPGATE_AGENT_TOKEN: 't', STEPGATE_MAX_STALENESS: 'soon' },
        /STEPGATE_MAX_STALENESS: "soon" is not a duration/,
      ],
      [
        { STEPGATE_AGENT_TOKEN: 't', STEPGATE_AGENT_LABELS: 'env' },
        /STEPGATE_AGENT_LABELS: label "env" is not k=v/,
      ],
      [
        { STEPGATE_AGENT_TOKEN: 't', STEPGATE_TRUSTED_KEYS: '/nonexistent/jwks.json' },
        /STEPGATE_TRUSTED_KEYS: cannot read/,
      ],
      [
        { STEPGATE_AGENT_TOKEN: 't', STEPGATE_AGENT_PORT: '99999' },
        /STEPGATE_AGENT_PORT must be an integer/,
      ],
    ];
    for (const [env, message] of cases) {
      await expect(startAgentProcess(env)).rejects.toThrow(
        new RegExp(`exited with 2:\\n(?:.*\\n)?stepgate agent: .*${message.source}`),
      );
    }
  });
});
