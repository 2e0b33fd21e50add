// The real Stepgate agent (the bundle @stepgate/agent ships, with its first line's V8 flags) serving the shared policy set over HTTP,
// started the way an agent restarts with its control plane gone: the cache dir holds a bundle
// signed with a key generated here, STEPGATE_TRUSTED_KEYS pins that key, and STEPGATE_URL points
// at a port nobody listens on. No database or Redis is needed; the agent verifies the bundle
// exactly as it would one pushed by the control plane.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bundleHashOf,
  generateSigningKey,
  importSigningKey,
  signBundle,
  toJwks,
} from '@stepgate/protocol';
import { shebangNodeFlags } from '../../apps/cli/dist/commands/agent-command.js';
import { AGENT_BUNDLE, launchAgent } from '../support/app-process.js';
import { freePort, spawnTracked, waitFor } from '../support/processes.js';
import { superviseServer } from './orphan-guard.js';

const REVISION = 1;

async function signedBundle(policySet) {
  const generated = await generateSigningKey();
  const key = await importSigningKey(generated.privateJwk);
  const jws = await signBundle(
    {
      format: 'stepgate.bundle/v1',
      kind: 'active',
      revision: REVISION,
      version: {
        id: 'peers-bench',
        number: 1,
        sha: randomBytes(20).toString('hex'),
        branch: 'main',
        committedAt: new Date().toISOString(),
      },
      rollback: false,
      issuedAt: new Date().toISOString(),
      bundleHash: await bundleHashOf(policySet),
      policySet,
    },
    { kid: key.kid, privateKey: key.privateKey },
  );
  return { jws, jwks: toJwks([generated.publicJwk]) };
}

/**
 * Starts the agent on the compiled `policySet`; resolves once `/v1/decide` answers from it.
 * @param {{ policySet: object, probeBody: object, log?: (line: string) => void }} options
 */
export async function startStepgateAgent({ policySet, probeBody, log = () => {} }) {
  if (!existsSync(AGENT_BUNDLE))
    throw new Error(`${AGENT_BUNDLE} is missing: run \`npm run build\` first`);
  const dir = mkdtempSync(join(tmpdir(), 'stepgate-peers-agent-'));
  const cacheDir = join(dir, 'cache');
  const trustedKeys = join(dir, 'trusted-keys.json');
  const { jws, jwks } = await signedBundle(policySet);
  // The agent creates and owns the cache dir; only the bundle is placed there beforehand.
  mkdirSync(cacheDir, { mode: 0o700 });
  writeFileSync(join(cacheDir, 'active.bundle.jws'), jws, { mode: 0o600 });
  writeFileSync(trustedKeys, JSON.stringify(jwks));

  const port = await freePort();
  const closedPort = await freePort();
  const child = launchAgent({
    port,
    env: {
      STEPGATE_URL: `http://127.0.0.1:${closedPort}`,
      STEPGATE_AGENT_TOKEN: `peers-bench-${randomBytes(8).toString('hex')}`,
      STEPGATE_AGENT_ID: 'peers-bench',
      STEPGATE_CACHE_DIR: cacheDir,
      STEPGATE_TRUSTED_KEYS: trustedKeys,
      // The bundle never syncs (no control plane): without this it would count as stale.
      STEPGATE_MAX_STALENESS: 'off',
    },
    spawner: spawnTracked,
    entry: AGENT_BUNDLE,
    nodeArgs: shebangNodeFlags(AGENT_BUNDLE),
  });
  const { output, stop, stopNow } = superviseServer(child, dir, 10_000);
  const url = `http://127.0.0.1:${port}`;
  let last;
  try {
    await waitFor(
      `the Stepgate agent on ${url} to decide from its cached bundle`,
      async () => {
        if (child.exitCode !== null) throw new Error(`it exited with ${child.exitCode}`);
        const response = await fetch(`${url}/v1/decide`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(probeBody),
          signal: AbortSignal.timeout(1000),
        });
        last = { status: response.status, body: await response.json() };
        return response.ok && last.body.revision === REVISION && !last.body.failReason;
      },
      30_000,
      50,
    );
  } catch (error) {
    await stop();
    throw new Error(
      `${error.message}; last answer ${JSON.stringify(last)}; agent output:\n${output()}`,
    );
  }
  log(`Stepgate agent on ${url} (pid ${child.pid}), bundle revision ${REVISION} from its cache`);
  return { url, pid: child.pid, child, output, stop, stopNow };
}
