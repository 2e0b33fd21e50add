import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The suites' and the benchmark's code files, tracked or new, with their text. */
function sources(): { path: string; text: string }[] {
  const listed = execFileSync(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard', '--', 'test', 'bench'],
    { cwd: repoRoot, encoding: 'utf8' },
  );
  return listed
    .split('\n')
    .filter((path) => /\.(ts|js|mjs)$/.test(path))
    .map((path) => ({ path, text: readFileSync(join(repoRoot, path), 'utf8') }))
    .filter(({ path }) => path !== 'test/workspace/test-support.spec.ts');
}

/** The files whose text matches `pattern`. */
function filesMatching(pattern: RegExp): string[] {
  return sources()
    .filter(({ text }) => pattern.test(text))
    .map(({ path }) => path);
}

describe('test support has one copy of each piece', () => {
  it('one settings fixture: no suite or benchmark writes its own Settings with levels', () => {
    // test/support/fixtures/settings.yaml (SETTINGS in test/support/policy-fixtures.ts).
    expect(filesMatching(/kind: Settings\\?n?[\s\S]{0,200}?levels:/)).toEqual([]);
  });

  it('one launcher of the built control plane and agent, shared by the suites and the benchmarks', () => {
    // bench/support/app-process.js names and spawns both; test/support wraps it with types.
    expect(filesMatching(/['"`]apps\/(?:agent|control-plane)\/dist\/main\.js['"`]/)).toEqual([
      'bench/support/app-process.js',
    ]);
    expect(filesMatching(/(?:spawn|fork)\w*\(\s*process\.execPath,\s*\[\s*\w*MAIN\b/)).toEqual([
      'bench/support/app-process.js',
    ]);
  });

  it("one clean-up of a run's Redis keys, shared by the test and benchmark launchers", () => {
    expect(filesMatching(/redis\.scan\(/)).toEqual(['bench/support/run-isolation.js']);
  });

  it('one fresh-build check, in test/support', () => {
    expect(filesMatching(/tsconfig\.tsbuildinfo/)).toEqual(['test/support/fresh-build.ts']);
  });
});
