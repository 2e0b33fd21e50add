import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { persistentAgentId } from './agent-id.js';
import { FileBundleCache } from './file-bundle-cache.js';
import { FileKeyPinStore } from './file-key-pin-store.js';

const dirs: string[] = [];
function dir(): string {
  const made = join(mkdtempSync(join(tmpdir(), 'stepgate-cache-')), 'nested');
  dirs.push(made);
  return made;
}
afterEach(() => {
  for (const made of dirs.splice(0)) rmSync(join(made, '..'), { recursive: true, force: true });
});

describe('FileBundleCache', () => {
  it('writes bundles atomically with mode 0600 and reads them back', async () => {
    const cacheDir = dir();
    const cache = new FileBundleCache(cacheDir);
    expect(await cache.load('active')).toBeUndefined();
    await cache.save('active', 'a.b.c');
    await cache.save('active', 'd.e.f');
    expect(await cache.load('active')).toBe('d.e.f');
    expect(statSync(cache.path('active')).mode & 0o777).toBe(0o600);
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
    expect(readdirSync(cacheDir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    await cache.remove('active');
    await cache.remove('active');
    expect(await cache.load('active')).toBeUndefined();
  });

  it('keeps the sync time', async () => {
    const cache = new FileBundleCache(dir());
    expect(await cache.loadSyncedAt()).toBeUndefined();
    await cache.saveSyncedAt(Date.parse('2026-11-23T10:00:00Z'));
    expect(await cache.loadSyncedAt()).toBe(Date.parse('2026-11-23T10:00:00Z'));
  });
});

describe('FileKeyPinStore and the agent id', () => {
  it('round-trips the pinned keys', async () => {
    const store = new FileKeyPinStore(dir());
    expect(await store.load()).toBeUndefined();
    const jwks = {
      keys: [
        {
          kty: 'OKP' as const,
          crv: 'Ed25519' as const,
          x: 'abc',
          kid: 'k1',
          use: 'sig' as const,
          alg: 'EdDSA' as const,
        },
      ],
    };
    await store.save(jwks);
    expect(await store.load()).toEqual(jwks);
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
  });

  it('generates an agent id once and keeps it', async () => {
    const cacheDir = dir();
    const id = await persistentAgentId(cacheDir);
    expect(id).toMatch(/^[A-Za-z0-9_.:-]{1,128}$/);
    expect(await persistentAgentId(cacheDir)).toBe(id);
    writeFileSync(join(cacheDir, 'agent-id'), 'bad id with spaces');
    expect(await persistentAgentId(cacheDir)).not.toBe('bad id with spaces');
  });
});
