// The real Cerbos PDP (the binary shipped in @cerbos/cerbos-linux-x64) as a child process on
// loopback: the shared policy set written to a temporary disk store, `cerbos compile` first (so a
// policy mistake is reported with Cerbos's own message, not as a PDP that answers DENY to
// everything), then `cerbos server` with HTTP and gRPC on free ports, audit and telemetry off.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, spawnTracked, waitFor } from '../support/processes.js';
import { superviseServer } from './orphan-guard.js';
import { cerbosFiles } from './policy-set.js';

const require = createRequire(import.meta.url);

/** Path of the PDP binary; throws naming the package when it is not installed for this platform. */
export function cerbosBinary() {
  let packageJson;
  try {
    packageJson = require.resolve('@cerbos/cerbos-linux-x64/package.json');
  } catch {
    throw new Error(
      'the Cerbos PDP is not installed: @cerbos/cerbos-linux-x64 is a devDependency (npm ci), linux-x64 only',
    );
  }
  const binary = join(dirname(packageJson), 'cerbos-linux-x64');
  if (!existsSync(binary)) throw new Error(`the Cerbos package has no binary at ${binary}`);
  return { path: binary, version: JSON.parse(readFileSync(packageJson, 'utf8')).version };
}

/**
 * Starts the PDP; resolves once it answers a check. `stop()` ends it and removes its directory.
 * @param {{ log?: (line: string) => void }} [options]
 */
export async function startCerbos({ log = () => {} } = {}) {
  const binary = cerbosBinary();
  const dir = mkdtempSync(join(tmpdir(), 'stepgate-peers-cerbos-'));
  const policies = join(dir, 'policies');
  try {
    for (const file of cerbosFiles()) {
      const path = join(policies, file.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, file.content);
    }
    await promisify(execFile)(binary.path, ['compile', '--skip-tests', policies], {
      timeout: 60_000,
    }).catch((error) => {
      throw new Error(
        `cerbos compile rejected the generated policies:\n${error.stdout ?? ''}${error.stderr ?? error.message}`,
      );
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const httpPort = await freePort();
  const grpcPort = await freePort();
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    `server:
  httpListenAddr: "127.0.0.1:${httpPort}"
  grpcListenAddr: "127.0.0.1:${grpcPort}"
storage:
  driver: disk
  disk:
    directory: ${JSON.stringify(policies)}
    watchForChanges: false
audit:
  enabled: false
telemetry:
  disabled: true
`,
  );
  const child = spawnTracked(binary.path, ['server', `--config=${config}`, '--log-level=warn'], {
    cwd: dir,
    // No OTLP endpoint, no Hub credentials from the developer's environment.
    env: { PATH: process.env.PATH ?? '', CERBOS_NO_TELEMETRY: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { output, stop, stopNow } = superviseServer(child, dir, 5000);
  const url = `http://127.0.0.1:${httpPort}`;
  try {
    await waitFor(
      `the Cerbos PDP on ${url}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`it exited with ${child.exitCode}`);
        return (await fetch(`${url}/_cerbos/health`, { signal: AbortSignal.timeout(1000) })).ok;
      },
      30_000,
      50,
    );
  } catch (error) {
    await stop();
    throw new Error(`${error.message}\ncerbos output:\n${output()}`);
  }
  log(`Cerbos PDP ${binary.version} on ${url} (pid ${child.pid})`);
  return {
    url,
    pid: child.pid,
    version: binary.version,
    child,
    output,
    stop,
    stopNow,
  };
}

/** One CheckResources call for one action: 'allow' | 'deny'; throws on anything else. */
export async function cerbosDecide(url, body) {
  const response = await fetch(`${url}/api/check/resources`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`Cerbos answered ${response.status}: ${text.slice(0, 500)}`);
  const answer = JSON.parse(text);
  const [action] = body.resources[0].actions;
  const effect = answer.results?.[0]?.actions?.[action];
  if (effect === 'EFFECT_ALLOW') return 'allow';
  if (effect === 'EFFECT_DENY') return 'deny';
  throw new Error(`Cerbos gave no effect for ${action}: ${text.slice(0, 500)}`);
}
