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

  it('one launcher of each built app process, in test/support', () => {
    expect(filesMatching(/['"`]apps\/agent\/dist\/main\.js['"`]/).filter(inTests)).toEqual([
      'test/support/agent-process.ts',
    ]);
    expect(filesMatching(/spawn\(process\.execPath, \[(?:MAIN|CONTROL_PLANE_MAIN)\]/)).toEqual([
      'test/support/control-plane-process.ts',
    ]);
  });

  it("one clean-up of a run's Redis keys, shared by the test and benchmark launchers", () => {
    expect(filesMatching(/redis\.scan\(/)).toEqual(['bench/support/run-isolation.js']);
  });

  it('one fresh-build check, in test/support', () => {
    expect(filesMatching(/tsconfig\.tsbuildinfo/)).toEqual(['test/support/fresh-build.ts']);
  });
});

function inTests(path: string): boolean {
  return path.startsWith('test/');
}
