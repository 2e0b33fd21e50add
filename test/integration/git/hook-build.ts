/**
 * Compiles the post-receive hook script for the hook tests. The hook runs as plain `node`, so it
 * needs JavaScript: this compiles apps/control-plane/src/git/post-receive-report.ts and its imports
 * with the control plane's compiler options into a temp dir laid out like the real dist
 * (dist/git/post-receive-report.js), with node_modules linked so '@stepgate/policy' resolves to
 * the built packages/policy. Only the hook's own files are compiled, so the test does not depend
 * on the rest of the control plane building.
 */
import { spawn } from 'node:child_process';
import { existsSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './git-fixtures.js';

const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');

function run(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsc, ...args], { cwd: repoRoot, stdio: 'pipe' });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`tsc ${args.join(' ')} exited ${code}:\n${output}`));
    });
  });
}

/** Returns the absolute path of the compiled post-receive-report.js inside `outRoot`. */
export async function buildPostReceiveReport(outRoot: string): Promise<string> {
  await run(['-b', 'packages/policy/tsconfig.json']);
  const controlPlane = join(repoRoot, 'apps/control-plane');
  const base = existsSync(join(controlPlane, 'tsconfig.json'))
    ? join(controlPlane, 'tsconfig.json')
    : join(repoRoot, 'tsconfig.base.json');
  const config = {
    extends: base,
    compilerOptions: {
      rootDir: join(controlPlane, 'src'),
      outDir: join(outRoot, 'dist'),
      composite: false,
      incremental: false,
      declaration: false,
      declarationMap: false,
    },
    // The worker is loaded by URL, not imported, so it is named here.
    files: [
      join(controlPlane, 'src/git/post-receive-report.ts'),
      join(controlPlane, 'src/sync/build-version.worker.ts'),
    ],
    include: [],
  };
  // Linked first: tsc also looks up @types from the config's folder.
  symlinkSync(join(repoRoot, 'node_modules'), join(outRoot, 'node_modules'), 'dir');
  writeFileSync(join(outRoot, 'tsconfig.json'), JSON.stringify(config, null, 2));
  await run(['-p', join(outRoot, 'tsconfig.json')]);
  return join(outRoot, 'dist/git/post-receive-report.js');
}
