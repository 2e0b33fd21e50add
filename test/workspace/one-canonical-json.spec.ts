/**
 * One canonical JSON: bundle hashes, signatures and fingerprints must serialise alike, so the
 * function exists once, in @stepgate/protocol. Fails when a second definition appears.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const THE_ONE = 'packages/protocol/src/canonical.ts';
/** A definition (not a call or an import) of something named canonical…Json / canonicalize. */
const DEFINITION =
  /(?:function\s*\*?\s*|(?:const|let|var)\s+)canonical(?:ize|\w*Json)\w*\s*[=(:<]/i;

function sources(dir: string): string[] {
  return readdirSync(join(repoRoot, dir), { withFileTypes: true, recursive: true })
    .filter(
      (entry) =>
        entry.isFile() &&
        /\.(ts|js|mjs|cjs)$/.test(entry.name) &&
        !/node_modules|[/\\]dist([/\\]|$)|generated/.test(entry.parentPath),
    )
    .map((entry) => relative(repoRoot, join(entry.parentPath, entry.name)));
}

describe('one canonical JSON', () => {
  it('is defined only in @stepgate/protocol', () => {
    const files = ['packages', 'apps', 'scripts', 'bench'].flatMap(sources);
    expect(files).toContain(THE_ONE);
    const definers = files.filter((file) => {
      const lines = readFileSync(join(repoRoot, file), 'utf8').split('\n');
      return lines.some((line) => DEFINITION.test(line));
    });
    expect(definers).toEqual([THE_ONE]);
  });
});
