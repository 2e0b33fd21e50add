import { execFileSync } from 'node:child_process';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createVitest } from 'vitest/node';
import { TEST_TIERS } from '../../vitest.config.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Every spec file in the tree, tracked or new (git's view, so node_modules and dist are out). */
function specFiles(): string[] {
  const listed = execFileSync(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard', '--', '*.spec.ts'],
    { cwd: repoRoot, encoding: 'utf8' },
  );
  return [...new Set(listed.split('\n').filter(Boolean))].sort();
}

/** The tiers Vitest itself assigns each spec to, from vitest.config.ts as `npm test` loads it. */
async function tiersBySpec(): Promise<Map<string, string[]>> {
  const vitest = await createVitest('test', { watch: false, reporters: [] }, {}, {});
  try {
    const specifications = await vitest.globTestSpecifications();
    const tiers = new Map<string, string[]>();
    for (const specification of specifications) {
      const file = relative(repoRoot, specification.moduleId);
      tiers.set(file, [...(tiers.get(file) ?? []), specification.project.name]);
    }
    return tiers;
  } finally {
    await vitest.close();
  }
}

describe('test tiers', () => {
  it('put every spec in the tree in exactly one tier, so none is silently not run', async () => {
    const tiers = await tiersBySpec();

    const misplaced = specFiles()
      .map((file) => ({ file, tiers: tiers.get(file) ?? [] }))
      .filter((spec) => spec.tiers.length !== 1);

    expect(misplaced).toEqual([]);
  }, 60_000);

  it('are the projects npm scripts name', async () => {
    const scripts = (await import('../../package.json', { with: { type: 'json' } })).default
      .scripts as Record<string, string>;

    for (const tier of Object.keys(TEST_TIERS)) {
      expect(scripts[`test:${tier}`], `npm run test:${tier}`).toContain(`--project ${tier}`);
    }
    // npm test (what CI runs) runs every tier: no --project filter.
    expect(scripts.test).toMatch(/vitest run$/);
  });
});
