/**
 * `node scripts/pack.mjs --out <dir>`: builds the publishable packages and writes one
 * `npm pack` tarball each into <dir> (created if missing):
 *
 *   stepgate-protocol-<v>.tgz stepgate-policy-<v>.tgz stepgate-agent-core-<v>.tgz
 *   stepgate-sdk-<v>.tgz stepgate-agent-<v>.tgz stepgate-cli-<v>.tgz
 *
 * and prints their paths, one a line. `npm install <dir>/*.tgz` then installs Stepgate anywhere
 * (the dependencies among them resolve to the tarballs, the rest comes from the registry).
 * This is the one way CI, the packed-install test and the Dockerfiles build an installation,
 * so what ships is what is tested. Exit 1 with the reason on any failure.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { bundleAgent } from './bundle-agent.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Workspace folder of each published package, dependencies first. */
export const PUBLISHED = {
  '@stepgate/protocol': 'packages/protocol',
  '@stepgate/policy': 'packages/policy',
  '@stepgate/agent-core': 'packages/agent-core',
  '@stepgate/sdk': 'packages/sdk',
  '@stepgate/agent': 'apps/agent',
  '@stepgate/cli': 'apps/cli',
};

function fail(message) {
  process.stderr.write(`pack: ${message}\n`);
  process.exit(1);
}

function run(command, args, options = {}) {
  return execFileSync(command, args, {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    ...options,
  });
}

async function main() {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  if (!values.out) fail('usage: node scripts/pack.mjs --out <dir>');
  const out = resolve(values.out);
  mkdirSync(out, { recursive: true });

  // tsc -b is incremental: a fresh build costs a second. The agent is one bundled file.
  const projects = Object.values(PUBLISHED).filter((dir) => dir !== 'apps/agent');
  run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b', ...projects], {
    stdio: 'inherit',
  });
  await bundleAgent();

  const tarballs = [];
  for (const [name, dir] of Object.entries(PUBLISHED)) {
    // The licence text lives once, at the root; each tarball carries a copy.
    const license = join(ROOT, dir, 'LICENSE');
    const copied = !existsSync(license);
    if (copied) copyFileSync(join(ROOT, 'LICENSE'), license);
    try {
      // --ignore-scripts: the root's `prepare` (a full build) is not this package's business.
      const json = run('npm', [
        'pack',
        '--workspace',
        name,
        '--pack-destination',
        out,
        '--ignore-scripts',
        '--json',
        '--silent',
      ]);
      const [packed] = JSON.parse(json);
      tarballs.push(join(out, packed.filename));
    } finally {
      if (copied) rmSync(license, { force: true });
    }
  }
  process.stdout.write(`${tarballs.join('\n')}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  main().catch((error) => fail(error instanceof Error ? error.message : String(error)));
