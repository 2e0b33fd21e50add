/**
 * The packages scripts/pack.mjs publishes carry what an installation outside the repository
 * needs (test/integration/packaging/packed-install.spec.ts installs them); the others stay
 * private. Keeps a new package, or an edit, from shipping without a licence, engines, types or
 * README, or from depending on a sibling that is not published.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PUBLISHED } from '../../scripts/pack.mjs';

const ROOT = join(import.meta.dirname, '../..');

interface PackageJson {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  engines?: { node?: string };
  bin?: Record<string, string>;
  exports?: Record<string, unknown>;
  files?: string[];
  dependencies?: Record<string, string>;
}

const read = (dir: string): PackageJson =>
  JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as PackageJson;
const root = read('.');
const workspaces = ['apps', 'packages'].flatMap((parent) =>
  readdirSync(join(ROOT, parent)).map((name) => `${parent}/${name}`),
);
const published = Object.entries(PUBLISHED);

describe('published packages', () => {
  it('are the six of the issue, each at its folder', () => {
    expect(published.map(([name]) => name).sort()).toEqual([
      '@stepgate/agent',
      '@stepgate/agent-core',
      '@stepgate/cli',
      '@stepgate/policy',
      '@stepgate/protocol',
      '@stepgate/sdk',
    ]);
    for (const [name, dir] of published) expect(read(dir).name).toBe(name);
  });

  it.each(published)('%s: public, licensed, engines, files, README, one version', (_, dir) => {
    const pkg = read(dir);
    expect(pkg.private).toBeUndefined();
    expect(pkg.version).toBe(root.version);
    expect(pkg.license).toBe(root.license);
    expect(pkg.engines?.node).toBe(root.engines?.node);
    expect(pkg.files).toEqual(expect.arrayContaining(['README.md', 'LICENSE']));
    expect(existsSync(join(ROOT, dir, 'README.md'))).toBe(true);
  });

  it.each(published)(
    '%s: a library exports types and code from dist (sources for tests)',
    (_, dir) => {
      const pkg = read(dir);
      const main = pkg.exports?.['.'] as Record<string, string> | undefined;
      if (main === undefined) {
        expect(pkg.bin, 'a package without exports is a command').toBeDefined();
        return;
      }
      // Order matters: Node and TypeScript take the first condition that matches.
      expect(Object.keys(main)).toEqual(['@stepgate/source', 'types', 'default']);
      expect(main.types).toBe('./dist/index.d.ts');
      expect(main.default).toBe('./dist/index.js');
    },
  );

  it.each(published)('%s: depends only on published siblings, at this version', (_, dir) => {
    for (const [dep, range] of Object.entries(read(dir).dependencies ?? {})) {
      if (!dep.startsWith('@stepgate/')) continue;
      expect(Object.keys(PUBLISHED), dep).toContain(dep);
      expect(range, dep).toBe(root.version);
    }
  });

  it('the agent ships one bundled file and no dependencies', () => {
    const agent = read(PUBLISHED['@stepgate/agent']!);
    expect(agent.bin).toEqual({ 'stepgate-agent': './dist/stepgate-agent.js' });
    expect(agent.dependencies).toBeUndefined();
  });

  it('every other workspace stays private', () => {
    const publishedDirs = new Set(Object.values(PUBLISHED));
    for (const dir of workspaces.filter((d) => existsSync(join(ROOT, d, 'package.json'))))
      if (!publishedDirs.has(dir)) expect(read(dir).private, dir).toBe(true);
  });
});
