import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { persistentAgentId } from './agent-id.js';
import { FileBundleCache } from './file-bundle-cache.js';
import { FileGrantCache } from './file-grant-cache.js';
import { FileKeyPinStore } from './file-key-pin-store.js';
import { FileLiveDataCache } from './file-live-data-cache.js';
import { resetTrust } from './trust-reset.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('resetTrust', () => {
  it('says what each cached file held, removes it, and keeps the agent id', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepgate-reset-'));
    dirs.push(dir);
    const id = await persistentAgentId(dir);
    const bundles = new FileBundleCache(dir);
    await bundles.save(
      'active',
      `${part({ alg: 'EdDSA', kid: 'rogue-kid' })}.${part({ revision: 2_000_000_000, version: { number: 1 } })}.sig`,
    );
    await bundles.save('shadow', 'not a jws');
    await bundles.saveSyncedAt(Date.parse('2026-12-01T10:00:00Z'));
    await new FileGrantCache(dir).save({ grants: ['a.b.c'], revoked: ['r1', 'r2'] });
    await new FileLiveDataCache(dir).save([
      { revision: 3, jws: 'a.b.c' },
      { revision: 7, jws: 'd.e.f' },
    ]);
    await new FileKeyPinStore(dir).save({
      keys: [
        { kty: 'OKP', crv: 'Ed25519', x: 'x', kid: 'real-kid', use: 'sig', alg: 'EdDSA' },
        { kty: 'OKP', crv: 'Ed25519', x: 'y', kid: 'rogue-kid', use: 'sig', alg: 'EdDSA' },
      ],
    });

    expect(await resetTrust(dir)).toEqual([
      'discarded the cached active bundle (revision 2000000000, version 1, signed by key rogue-kid)',
      'discarded the cached shadow bundle (unreadable)',
      'discarded the last sync time',
      'discarded the cached grants (1 grants, 2 revoked ids)',
      'discarded the cached live data (data revision 7)',
      'discarded the pinned bundle-signing keys (kids real-kid, rogue-kid)',
    ]);
    expect(readdirSync(dir)).toEqual(['agent-id']);
    expect(await persistentAgentId(dir)).toBe(id);
    // Nothing left: nothing to say.
    expect(await resetTrust(dir)).toEqual([]);
  });

  it('discards an unreadable file too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepgate-reset-'));
    dirs.push(dir);
    const pins = new FileKeyPinStore(dir);
    writeFileSync(pins.path, '{torn');
    expect(await resetTrust(dir)).toEqual([
      expect.stringMatching(/^discarded the pinned bundle-signing keys \(unreadable: /),
    ]);
    expect(existsSync(pins.path)).toBe(false);
  });
});
