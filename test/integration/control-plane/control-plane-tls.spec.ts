/**
 * The real control plane serving HTTPS (STEPGATE_TLS_CERT / STEPGATE_TLS_KEY): health, the admin
 * API and Git smart HTTP over TLS, a real agent connecting over wss (trusting the private CA
 * through STEPGATE_CA_FILE) and deciding with its bundle, an agent that does not trust the CA
 * refused at the handshake, the certificate replaced on disk without a restart, and bad TLS
 * files refused at start. Certificates are made here with the openssl CLI; the clients are
 * real: curl, git and node:https.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent } from '../../support/agent-process.js';
import {
  freePort,
  runControlPlaneToExit,
  startControlPlane,
  type ControlPlaneProcess,
} from '../../support/control-plane-process.js';
import { ensureAgentBuilt } from '../../support/fresh-build.js';
import { curl, httpsRequest, type TlsClient } from '../../support/https-client.js';
import {
  replaceAtomically,
  testPki,
  type Issued,
  type TestCa,
  type TestPki,
} from '../../support/tls-certificates.js';
import { ALLOWED, DENIED } from '../agent/fixtures.js';
import { embeddedRepoUrl, ensureControlPlaneBuilt, git, tempDirs, waitFor } from './support.js';

/** The git CLI (GnuTLS here) trusting `caFile`. */
const gitTrusting = (caFile: string, args: string[]) =>
  git(args, undefined, { GIT_SSL_CAINFO: caFile });

/** A real agent process against the control plane; its output and a stop. */
interface RunningAgent {
  url: string;
  output(): string;
  decide(input: unknown): Promise<{ status: number; body: any }>;
  kill(): Promise<void>;
}

const dirs = tempDirs();
const agents: RunningAgent[] = [];
let pki: TestPki;
let ca: TestCa;
let trusting: TlsClient;
let first: Issued;
let live: { certFile: string; keyFile: string };
let cp: ControlPlaneProcess;

beforeAll(async () => {
  await Promise.all([ensureControlPlaneBuilt(), ensureAgentBuilt()]);
  pki = testPki();
  ca = pki.ca('cp-test-ca');
  trusting = { ca: ca.pem };
  first = pki.server(ca, 'cp-first');
  // The files the control plane is configured with; replaced in the reload test.
  live = { certFile: join(pki.dir, 'cp-live.crt'), keyFile: join(pki.dir, 'cp-live.key') };
  writeFileSync(live.certFile, readFileSync(first.certFile));
  writeFileSync(live.keyFile, readFileSync(first.keyFile));
  cp = await startControlPlane(
    // info: the reload is logged at info.
    {
      STEPGATE_TLS_CERT: live.certFile,
      STEPGATE_TLS_KEY: live.keyFile,
      STEPGATE_LOG_LEVEL: 'info',
    },
    { https: trusting },
  );
}, 360_000);

afterAll(async () => {
  await Promise.all(agents.map((agent) => agent.kill()));
  await cp?.destroy();
  dirs.cleanup();
  pki?.cleanup();
});

/** The admin API over TLS with node:https. */
function admin(method: string, path: string, body?: unknown) {
  return httpsRequest(`${cp.url}${path}`, trusting, {
    method,
    headers: { authorization: `Bearer ${cp.adminToken}` },
    ...(body !== undefined ? { body } : {}),
  });
}

async function agentToken(name: string): Promise<string> {
  const created = await admin('POST', '/v1/tokens', { name, scopes: ['agent'] });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.token as string;
}

async function startAgent(name: string, env: Record<string, string>): Promise<RunningAgent> {
  let log = '';
  const { child, url, exited } = await spawnAgent({
    port: await freePort(),
    cacheDir: dirs.make(`tls-agent-${name}`),
    env: {
      STEPGATE_URL: cp.url,
      STEPGATE_AGENT_TOKEN: await agentToken(name),
      STEPGATE_AGENT_ID: `tls-${name}`,
      ...env,
    },
    logLevel: 'info',
    onOutput: (text) => (log += text),
    output: () => log,
  });
  const agent: RunningAgent = {
    url,
    output: () => log,
    async decide(input) {
      const response = await fetch(`${url}/v1/decide`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(input),
      });
      return { status: response.status, body: await response.json() };
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  agents.push(agent);
  return agent;
}

describe('control plane over HTTPS', () => {
  it('answers /healthz and the admin API over TLS (curl, node:https) and nothing over plain HTTP', async () => {
    expect(cp.url).toMatch(/^https:\/\/127\.0\.0\.1:/);
    const health = await curl(['--cacert', ca.certFile, `${cp.url}/healthz`]);
    expect(health.stderr).toBe('');
    expect(health.code).toBe(0);
    expect(JSON.parse(health.stdout)).toMatchObject({ status: 'ok' });

    const versions = await curl([
      ...['--cacert', ca.certFile, '-H', `authorization: Bearer ${cp.adminToken}`],
      `${cp.url}/v1/versions`,
    ]);
    expect(versions.code).toBe(0);
    expect(JSON.parse(versions.stdout)).toHaveProperty('versions');

    const tokens = await admin('GET', '/v1/tokens');
    expect(tokens.status).toBe(200);
    expect(tokens.serial).toBe(first.serial);
    const unauthenticated = await httpsRequest(`${cp.url}/v1/tokens`, trusting);
    expect(unauthenticated.status).toBe(401);

    expect((await curl([`${cp.url}/healthz`])).code).toBe(60); // CA not trusted
    const plain = await curl([`http://127.0.0.1:${new URL(cp.url).port}/healthz`]);
    expect(plain.code).not.toBe(0);
    expect(plain.stdout).toBe('');
  });

  it('serves Git smart HTTP over TLS to a git that trusts the CA, and not to one that does not', async () => {
    const url = embeddedRepoUrl(cp, cp.adminToken);
    const trusted = await gitTrusting(ca.certFile, ['ls-remote', url]);
    expect(trusted.stderr).toBe('');
    expect(trusted.status).toBe(0);
    expect(trusted.stdout).toMatch(/^[0-9a-f]{40}\trefs\/heads\/main$/m);

    const clone = dirs.make('tls-clone');
    const cloned = await gitTrusting(ca.certFile, ['clone', '-q', url, clone]);
    expect(cloned.status, cloned.stderr).toBe(0);
    expect(readFileSync(join(clone, 'stepgate.yaml'), 'utf8')).toContain('apiVersion: stepgate/v1');

    const untrusted = await gitTrusting(pki.ca('git-stranger-ca').certFile, ['ls-remote', url]);
    expect(untrusted.status).not.toBe(0);
    expect(untrusted.stderr).toMatch(/SSL certificate problem|server certificate verification/);
  });

  it('an agent connects over wss trusting the CA from STEPGATE_CA_FILE and decides with its bundle; without the CA it is refused', async () => {
    const stranger = await startAgent('stranger', {});
    const agent = await startAgent('trusting', { STEPGATE_CA_FILE: ca.certFile });
    await waitFor(
      'the agent deciding with the active bundle',
      async () => (await agent.decide(ALLOWED)).body?.effect === 'allow',
      120_000,
      200,
    );
    expect((await agent.decide(DENIED)).body).toMatchObject({ effect: 'deny' });
    const listed = await admin('GET', '/v1/agents');
    expect(listed.body.agents).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: 'tls-trusting', status: 'connected' }),
      ]),
    );

    // The agent that does not trust the private CA never got a bundle: it says why.
    await waitFor('the refused handshake in the log', () =>
      /"error":"websocket error: (self[- ]signed certificate in certificate chain|unable to verify the first certificate)","msg":"cannot connect to the control plane"/.test(
        stranger.output(),
      ),
    );
    expect((await stranger.decide(ALLOWED)).body).toMatchObject({ effect: 'deny' });
    expect(listed.body.agents.map((row: { id: string }) => row.id)).not.toContain('tls-stranger');
    await stranger.kill();
  }, 180_000);

  it('picks up a certificate replaced on disk without a restart; open connections (agent socket, keep-alive) survive', async () => {
    const agent = await startAgent('rotation', { STEPGATE_CA_FILE: ca.certFile });
    await waitFor(
      'the agent deciding with the active bundle',
      async () => (await agent.decide(ALLOWED)).body?.effect === 'allow',
      120_000,
      200,
    );
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    const opened = await httpsRequest(`${cp.url}/healthz`, trusting, { agent: keepAlive });
    expect(opened).toMatchObject({ status: 200, serial: first.serial, reused: false });

    const second = pki.server(ca, 'cp-second');
    replaceAtomically(second.keyFile, live.keyFile);
    replaceAtomically(second.certFile, live.certFile);
    await waitFor(
      'the new certificate on a new connection',
      async () => (await httpsRequest(`${cp.url}/healthz`, trusting)).serial === second.serial,
      20_000,
    );
    expect(cp.output()).toContain('TLS certificate reloaded');

    const again = await httpsRequest(`${cp.url}/healthz`, trusting, { agent: keepAlive });
    expect(again).toMatchObject({ status: 200, reused: true, serial: first.serial });
    keepAlive.destroy();
    // The agent's WebSocket, opened with the first certificate, was never dropped.
    expect(agent.output()).not.toContain('control-plane connection lost');
    const row = (await admin('GET', '/v1/agents')).body.agents.find(
      (candidate: { id: string }) => candidate.id === 'tls-rotation',
    );
    expect(row).toMatchObject({ status: 'connected' });
  }, 180_000);
});

describe('control plane TLS start-up refusals', () => {
  const refused = async (env: Record<string, string>): Promise<string> => {
    const run = await runControlPlaneToExit(env);
    expect(run.timedOut).toBe(false);
    expect(run.code).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines, run.stderr).toHaveLength(1);
    expect(run.stderr).not.toMatch(/^\s+at /m);
    return lines[0]!;
  };

  it('refuses half a pair, an unreadable file and a key that is not the certificate’s (exit 2, one line)', async () => {
    const other = pki.server(ca, 'cp-other');
    const missing = join(pki.dir, 'missing.crt');
    expect(await refused({ STEPGATE_TLS_KEY: first.keyFile })).toBe(
      'stepgate: invalid configuration: STEPGATE_TLS_KEY is set but STEPGATE_TLS_CERT is not: HTTPS needs both the certificate and its private key (PEM files)',
    );
    expect(await refused({ STEPGATE_TLS_CERT: missing, STEPGATE_TLS_KEY: first.keyFile })).toBe(
      `stepgate: invalid configuration: STEPGATE_TLS_CERT: cannot read ${missing} (ENOENT)`,
    );
    expect(
      await refused({ STEPGATE_TLS_CERT: first.certFile, STEPGATE_TLS_KEY: other.keyFile }),
    ).toBe(
      `stepgate: invalid configuration: STEPGATE_TLS_KEY: ${other.keyFile} is not the key of the certificate in ${first.certFile}`,
    );
  });
});
