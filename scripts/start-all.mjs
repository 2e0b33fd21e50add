#!/usr/bin/env node
// `npm start`: the control plane with the example policies, plus one agent beside it.
// Tokens for this local setup live in .stepgate/ (admin token created on first run, an
// agent-scoped token created through the admin API, bound to the agent id kept beside it:
// a token is one agent's identity), so restarts reuse them.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dataDir = process.env.STEPGATE_DATA_DIR ?? join(root, '.stepgate');
const port = process.env.PORT ?? '8181';
const agentPort = process.env.STEPGATE_AGENT_PORT ?? '8182';
const url = `http://127.0.0.1:${port}`;
mkdirSync(dataDir, { recursive: true });

function secretFile(name, create) {
  const file = join(dataDir, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const value = create();
  writeFileSync(file, value, { mode: 0o600 });
  return value;
}

const adminToken =
  process.env.STEPGATE_ADMIN_TOKEN ??
  secretFile('admin-token', () => `sg_${randomBytes(32).toString('base64url')}`);
const children = [];
const stopAll = (code) => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 500).unref();
};
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

function run(name, script, env) {
  const child = spawn(process.execPath, [join(root, script)], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.on('exit', (code) => {
    if (code !== 0 && code !== null)
      process.stderr.write(`stepgate: ${name} exited with ${code}\n`);
    stopAll(code ?? 1);
  });
  children.push(child);
  return child;
}

async function waitHealthy(base, what) {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become healthy at ${base}`);
}

/** The local agent's token and id: created together (the token bound to the id), then reused. */
async function agentCredentials() {
  const tokenFile = join(dataDir, 'agent-token');
  const idFile = join(dataDir, 'agent-id');
  const storedId = existsSync(idFile) ? readFileSync(idFile, 'utf8').trim() : undefined;
  let agentId = process.env.STEPGATE_AGENT_ID ?? storedId ?? newAgentId();
  if (existsSync(tokenFile) && storedId === agentId) {
    const token = readFileSync(tokenFile, 'utf8').trim();
    const probe = await fetch(`${url}/v1/bundles/active`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (probe.status !== 401) return { token, agentId };
  }
  let response = await createAgentToken(agentId);
  if (response.status === 409 && process.env.STEPGATE_AGENT_ID === undefined) {
    // The id is bound to a live token whose file is gone: start over with a new id.
    agentId = newAgentId();
    response = await createAgentToken(agentId);
  }
  if (!response.ok)
    throw new Error(`could not create an agent token: ${response.status} ${await response.text()}`);
  const { token } = await response.json();
  writeFileSync(tokenFile, token, { mode: 0o600 });
  writeFileSync(idFile, agentId);
  return { token, agentId };
}

function newAgentId() {
  return `local-agent-${randomBytes(3).toString('hex')}`;
}

function createAgentToken(agentId) {
  return fetch(`${url}/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: agentId, scopes: ['agent'], agentId }),
  });
}

try {
  run('control plane', 'apps/control-plane/dist/main.js', {
    STEPGATE_ADMIN_TOKEN: adminToken,
    STEPGATE_DATA_DIR: dataDir,
    PORT: port,
  });
  await waitHealthy(url, 'the control plane');
  const { token, agentId } = await agentCredentials();
  run('agent', 'apps/agent/dist/main.js', {
    STEPGATE_URL: url,
    STEPGATE_AGENT_TOKEN: token,
    STEPGATE_AGENT_ID: agentId,
    STEPGATE_AGENT_PORT: agentPort,
    STEPGATE_CACHE_DIR: join(dataDir, 'agent-cache'),
    STEPGATE_AGENT_LABELS: process.env.STEPGATE_AGENT_LABELS ?? 'env=local',
  });
  await waitHealthy(`http://127.0.0.1:${agentPort}`, 'the agent');
  process.stdout.write(
    `\nStepgate is running.\n  control plane  ${url}   (admin token in ${join(dataDir, 'admin-token')})\n  console        http://localhost:${port}/console   (sign in with that token)\n  agent          http://127.0.0.1:${agentPort}\n\n` +
      `  export STEPGATE_URL=${url} STEPGATE_TOKEN=$(cat ${join(dataDir, 'admin-token')})\n\n`,
  );
} catch (error) {
  process.stderr.write(`stepgate: ${error.message}\n`);
  stopAll(1);
}
