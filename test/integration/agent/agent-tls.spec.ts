/**
 * The real agent process serving HTTPS (STEPGATE_TLS_CERT / STEPGATE_TLS_KEY), with client
 * certificates required (STEPGATE_TLS_CLIENT_CA, as the Kubernetes API server calls webhooks),
 * its certificate replaced on disk while it runs, and its start-up refusals: bad TLS files and a
 * plain-http:// control plane that is not loopback. Certificates are made here with the openssl
 * CLI; the clients are real: curl and node:https.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curl, httpsRequest, type TlsClient } from '../../support/https-client.js';
import {
  replaceAtomically,
  testPki,
  type Issued,
  type TestCa,
  type TestPki,
} from '../../support/tls-certificates.js';
import { ALLOWED, DENIED } from './fixtures.js';
import {
  bundleSigner,
  cleanup,
  ensureAgentBuilt,
  examplePolicies,
  FakeControlPlane,
  startAgentProcess,
  tempDir,
  waitFor,
  type AgentProcess,
} from './support.js';

let pki: TestPki;
let ca: TestCa;
let trusting: TlsClient;
let plane: FakeControlPlane;
let keysFile: string;
const dirs: string[] = [];
const agents: AgentProcess[] = [];

beforeAll(async () => {
  await ensureAgentBuilt();
  pki = testPki();
  ca = pki.ca('test-ca');
  trusting = { ca: ca.pem };
  const signer = await bundleSigner();
  const keys = tempDir('tls-keys');
  dirs.push(keys);
  keysFile = join(keys, 'jwks.json');
  writeFileSync(keysFile, JSON.stringify(signer.jwks));
  plane = await FakeControlPlane.start(signer.jwks);
  plane.publish('active', 1, await signer.sign(examplePolicies(), 1));
}, 60_000);

afterAll(async () => {
  await Promise.all(agents.map((agent) => agent.kill()));
  await plane?.stop();
  cleanup(...dirs);
  pki?.cleanup();
});

/** An agent over HTTPS holding the example policies as revision 1. */
async function httpsAgent(
  files: { certFile: string; keyFile: string },
  extra: Record<string, string> = {},
  client: TlsClient = trusting,
): Promise<AgentProcess> {
  const agent = await startAgentProcess(
    {
      STEPGATE_URL: plane.url,
      STEPGATE_AGENT_TOKEN: plane.token,
      STEPGATE_TRUSTED_KEYS: keysFile,
      STEPGATE_TLS_CERT: files.certFile,
      STEPGATE_TLS_KEY: files.keyFile,
      ...extra,
    },
    undefined,
    [],
    client,
  );
  agents.push(agent);
  dirs.push(agent.cacheDir);
  await waitFor('the policy set on the agent', async () => {
    const ready = await httpsRequest(`${agent.url}/readyz`, client);
    return ready.status === 200 && ready.body?.revision === 1;
  });
  return agent;
}

/** Copies a server certificate and key to names the agent is configured with (replaced later). */
function liveFiles(issued: Issued, name: string): { certFile: string; keyFile: string } {
  const certFile = join(pki.dir, `${name}.crt`);
  const keyFile = join(pki.dir, `${name}-live.key`);
  writeFileSync(certFile, readFileSync(issued.certFile));
  writeFileSync(keyFile, readFileSync(issued.keyFile));
  return { certFile, keyFile };
}

describe('agent over HTTPS', () => {
  it('answers /v1/decide to curl --cacert and to node:https, and refuses plain HTTP and unverified clients', async () => {
    const server = pki.server(ca, 'agent-plain');
    const agent = await httpsAgent(server);
    expect(agent.url).toMatch(/^https:\/\/127\.0\.0\.1:/);
    expect(agent.output()).toContain(`agent serving decisions on https://127.0.0.1:${agent.port}`);

    const viaCurl = await curl([
      '--cacert',
      ca.certFile,
      '-H',
      'content-type: application/json',
      '--data',
      JSON.stringify(ALLOWED),
      `${agent.url}/v1/decide`,
    ]);
    expect(viaCurl.stderr).toBe('');
    expect(viaCurl.code).toBe(0);
    expect(JSON.parse(viaCurl.stdout)).toMatchObject({ effect: 'allow' });
    // The name in the certificate is checked too: localhost is in it.
    const byName = await curl(['--cacert', ca.certFile, `https://localhost:${agent.port}/healthz`]);
    expect(byName.code).toBe(0);
    expect(JSON.parse(byName.stdout)).toEqual({ status: 'ok' });

    const viaNode = await httpsRequest(`${agent.url}/v1/decide`, trusting, {
      method: 'POST',
      body: DENIED,
    });
    expect(viaNode.status).toBe(200);
    expect(viaNode.body).toMatchObject({ effect: 'deny' });
    expect(viaNode.serial).toBe(server.serial);

    // A client that does not trust the CA stops at the handshake (curl: 60, peer not verified).
    const untrusted = await curl([`${agent.url}/healthz`]);
    expect(untrusted.code).toBe(60);
    await expect(
      httpsRequest(`${agent.url}/healthz`, { ca: pki.ca('stranger-ca').pem }),
    ).rejects.toThrow(/self[- ]signed certificate in certificate chain|unable to verify/);

    // Plain HTTP on the TLS port gets no HTTP answer at all.
    const plain = await curl([`http://127.0.0.1:${agent.port}/healthz`]);
    expect(plain.code).not.toBe(0);
    expect(plain.stdout).toBe('');
    await expect(fetch(`http://127.0.0.1:${agent.port}/healthz`)).rejects.toThrow();
    expect(agent.alive()).toBe(true);
  });

  it('picks up a certificate replaced on disk without a restart; an open keep-alive connection survives, a bad pair is refused', async () => {
    const first = pki.server(ca, 'agent-first');
    const second = pki.server(ca, 'agent-second');
    const stray = pki.server(ca, 'agent-stray');
    const files = liveFiles(first, 'agent-rotating');
    const agent = await httpsAgent(files);
    const pid = agent.child.pid;

    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    const opened = await httpsRequest(`${agent.url}/healthz`, trusting, { agent: keepAlive });
    expect(opened).toMatchObject({ status: 200, serial: first.serial, reused: false });

    // A key that is not the certificate's: logged, and the previous pair stays in service.
    replaceAtomically(stray.keyFile, files.keyFile);
    await waitFor('the refused pair in the log', () =>
      agent.output().includes('TLS files changed but do not load'),
    );
    expect(agent.output()).toContain(
      `STEPGATE_TLS_KEY: ${files.keyFile} is not the key of the certificate in ${files.certFile}`,
    );
    const stillFirst = await httpsRequest(`${agent.url}/healthz`, trusting);
    expect(stillFirst).toMatchObject({ status: 200, serial: first.serial });

    // The new pair, each file replaced in one rename: new connections get the new certificate.
    replaceAtomically(second.keyFile, files.keyFile);
    replaceAtomically(second.certFile, files.certFile);
    await waitFor(
      'the new certificate on a new connection',
      async () => (await httpsRequest(`${agent.url}/healthz`, trusting)).serial === second.serial,
      20_000,
    );
    expect(agent.output()).toContain('TLS certificate reloaded');
    expect(agent.output()).toContain(second.serial);

    // The connection opened before the change is still open, and still answers decisions.
    const again = await httpsRequest(`${agent.url}/v1/decide`, trusting, {
      method: 'POST',
      body: ALLOWED,
      agent: keepAlive,
    });
    expect(again).toMatchObject({ status: 200, reused: true, serial: first.serial });
    expect(again.body).toMatchObject({ effect: 'allow' });
    keepAlive.destroy();
    expect(agent.alive()).toBe(true);
    expect(agent.child.pid).toBe(pid);
  });

  it('requires a client certificate from the CA in STEPGATE_TLS_CLIENT_CA', async () => {
    const apiServerCa = pki.ca('apiserver-client-ca');
    const apiServer = pki.client(apiServerCa, 'apiserver', 'kube-apiserver');
    const rogue = pki.client(pki.ca('rogue-ca'), 'rogue', 'kube-apiserver');
    const withCert: TlsClient = {
      ca: ca.pem,
      cert: readFileSync(apiServer.certFile, 'utf8'),
      key: readFileSync(apiServer.keyFile, 'utf8'),
    };
    const agent = await httpsAgent(
      pki.server(ca, 'agent-mtls'),
      { STEPGATE_TLS_CLIENT_CA: apiServerCa.certFile },
      withCert,
    );
    expect(agent.output()).toContain('"clientCertificates":true');

    const without = await curl(['--cacert', ca.certFile, `${agent.url}/healthz`]);
    expect(without.code).not.toBe(0);
    expect(without.stdout).toBe('');
    expect(without.stderr).toMatch(/certificate required|alert|handshake/i);

    const fromRogue = await curl([
      ...['--cacert', ca.certFile, '--cert', rogue.certFile, '--key', rogue.keyFile],
      `${agent.url}/healthz`,
    ]);
    expect(fromRogue.code).not.toBe(0);
    expect(fromRogue.stdout).toBe('');

    const withCurl = await curl([
      ...['--cacert', ca.certFile, '--cert', apiServer.certFile, '--key', apiServer.keyFile],
      '-H',
      'content-type: application/json',
      '--data',
      JSON.stringify(ALLOWED),
      `${agent.url}/v1/decide`,
    ]);
    expect(withCurl.code).toBe(0);
    expect(JSON.parse(withCurl.stdout)).toMatchObject({ effect: 'allow' });

    await expect(httpsRequest(`${agent.url}/healthz`, trusting)).rejects.toThrow();
    const viaNode = await httpsRequest(`${agent.url}/v1/decide`, withCert, {
      method: 'POST',
      body: DENIED,
    });
    expect(viaNode.body).toMatchObject({ effect: 'deny' });
  });
});

describe('agent start-up refusals', () => {
  /** Starts an agent expected to stop at once; resolves with its output. */
  async function refusedStart(env: Record<string, string>): Promise<string> {
    const cacheDir = tempDir('tls-refused');
    dirs.push(cacheDir);
    const error = await startAgentProcess(
      { STEPGATE_AGENT_TOKEN: 'sg_token', ...env },
      cacheDir,
    ).then(
      (agent) => {
        agents.push(agent);
        throw new Error('the agent started');
      },
      (caught: Error) => caught,
    );
    const match = /^the agent exited with (\d+):\n([\s\S]*)$/.exec(error.message);
    expect(match, error.message).not.toBeNull();
    expect(match![1]).toBe('2');
    const output = match![2]!.trim();
    expect(output.split('\n')).toHaveLength(1);
    expect(output).not.toMatch(/\n\s+at /);
    return output;
  }

  it('refuses bad TLS files in one line naming the variable and the file (exit 2)', async () => {
    const server = pki.server(ca, 'agent-startup');
    const other = pki.server(ca, 'agent-other');
    const missing = join(pki.dir, 'missing.key');
    expect(await refusedStart({ STEPGATE_TLS_CERT: server.certFile })).toBe(
      'stepgate agent: STEPGATE_TLS_CERT is set but STEPGATE_TLS_KEY is not: HTTPS needs both the certificate and its private key (PEM files)',
    );
    expect(
      await refusedStart({ STEPGATE_TLS_CERT: server.certFile, STEPGATE_TLS_KEY: missing }),
    ).toBe(`stepgate agent: STEPGATE_TLS_KEY: cannot read ${missing} (ENOENT)`);
    expect(
      await refusedStart({ STEPGATE_TLS_CERT: server.certFile, STEPGATE_TLS_KEY: other.keyFile }),
    ).toBe(
      `stepgate agent: STEPGATE_TLS_KEY: ${other.keyFile} is not the key of the certificate in ${server.certFile}`,
    );
    expect(
      await refusedStart({ STEPGATE_TLS_CERT: server.keyFile, STEPGATE_TLS_KEY: server.keyFile }),
    ).toBe(`stepgate agent: STEPGATE_TLS_CERT: ${server.keyFile} holds no PEM certificate`);
    expect(
      await refusedStart({
        STEPGATE_TLS_CERT: server.certFile,
        STEPGATE_TLS_KEY: server.keyFile,
        STEPGATE_TLS_CLIENT_CA: server.keyFile,
      }),
    ).toBe(`stepgate agent: STEPGATE_TLS_CLIENT_CA: ${server.keyFile} holds no PEM certificate`);
    expect(await refusedStart({ STEPGATE_CA_FILE: missing })).toBe(
      `stepgate agent: STEPGATE_CA_FILE: cannot read ${missing} (ENOENT)`,
    );
  });

  it('refuses a plain http:// control plane that is not loopback unless STEPGATE_ALLOW_INSECURE=true', async () => {
    const output = await refusedStart({ STEPGATE_URL: 'http://cp.example.com:8181' });
    expect(output).toBe(
      'stepgate agent: STEPGATE_URL is plain http:// to cp.example.com, which is not loopback: the agent token and decision logs would cross the network unencrypted; use https://, or set STEPGATE_ALLOW_INSECURE=true (e.g. behind a TLS sidecar)',
    );
    const allowed = await startAgentProcess({
      STEPGATE_AGENT_TOKEN: 'sg_token',
      STEPGATE_URL: 'http://cp.example.com:8181',
      STEPGATE_ALLOW_INSECURE: 'true',
    });
    agents.push(allowed);
    dirs.push(allowed.cacheDir);
    expect(allowed.alive()).toBe(true);
    expect((await fetch(`${allowed.url}/healthz`)).status).toBe(200);
  });
});
