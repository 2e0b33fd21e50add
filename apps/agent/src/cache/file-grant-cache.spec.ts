import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileGrantCache } from './file-grant-cache.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('FileGrantCache', () => {
  it('round-trips grants and revoked ids in a file only the agent user can read', async () => {
    dir = await mkdtemp(join(tmpdir(), 'stepgate-grants-'));
    const cache = new FileGrantCache(dir);
    expect(await cache.load()).toBeUndefined();
    await cache.save({ grants: ['a.b.c'], revoked: ['id-1'] });
    expect(await cache.load()).toEqual({ grants: ['a.b.c'], revoked: ['id-1'] });
    expect(statSync(cache.path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(cache.path, 'utf8'))).toEqual({
      grants: ['a.b.c'],
      revoked: ['id-1'],
    });
  });

  it('keeps only strings from an edited file and reports unparsable JSON', async () => {
    dir = await mkdtemp(join(tmpdir(), 'stepgate-grants-'));
    const cache = new FileGrantCache(dir);
    writeFileSync(cache.path, JSON.stringify({ grants: ['x', 1, null], revoked: 'nope' }));
    expect(await cache.load()).toEqual({ grants: ['x'], revoked: [] });
    writeFileSync(cache.path, '{torn');
    await expect(cache.load()).rejects.toThrow(SyntaxError);
  });
});
