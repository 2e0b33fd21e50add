import { rm } from 'node:fs/promises';
import { FileBundleCache } from './file-bundle-cache.js';
import { FileGrantCache } from './file-grant-cache.js';
import { FileKeyPinStore } from './file-key-pin-store.js';
import { FileLiveDataCache } from './file-live-data-cache.js';

/**
 * `--reset-trust`: the operator's way out of a poisoned cache — a bundle whose revision no real
 * one can pass, or a key pinned from a rogue control plane (by an agent taken over before key
 * rotation had to be signed). Discards the cached bundles and sync time, the grants and revoked
 * ids, the live data, and the pinned keys, and returns one line per file saying what it held; the agent id is
 * kept. The agent then pins again from STEPGATE_TRUSTED_KEYS or its next connection.
 */
export async function resetTrust(dir: string): Promise<string[]> {
  const bundles = new FileBundleCache(dir);
  const grants = new FileGrantCache(dir);
  const pins = new FileKeyPinStore(dir);
  const liveData = new FileLiveDataCache(dir);
  const discarded: string[] = [];

  for (const kind of ['active', 'shadow'] as const) {
    const described = await describeFile(() => bundles.load(kind), describeBundle);
    if (described === undefined) continue;
    await bundles.remove(kind);
    discarded.push(`discarded the cached ${kind} bundle (${described})`);
  }
  if (await exists(() => bundles.loadSyncedAt())) {
    await rm(bundles.syncStatePath, { force: true });
    discarded.push('discarded the last sync time');
  }
  const heldGrants = await describeFile(
    () => grants.load(),
    (stored) => `${stored.grants.length} grants, ${stored.revoked.length} revoked ids`,
  );
  if (heldGrants !== undefined) {
    await rm(grants.path, { force: true });
    discarded.push(`discarded the cached grants (${heldGrants})`);
  }
  // Signed with the keys being discarded: the next connection sends a snapshot.
  const heldData = await describeFile(
    () => liveData.load(),
    (messages) => `data revision ${String(messages.at(-1)?.revision ?? 0)}`,
  );
  if (heldData !== undefined) {
    await rm(liveData.path, { force: true });
    discarded.push(`discarded the cached live data (${heldData})`);
  }
  const heldKeys = await describeFile(() => pins.load(), describePins);
  if (heldKeys !== undefined) {
    await rm(pins.path, { force: true });
    discarded.push(`discarded the pinned bundle-signing keys (${heldKeys})`);
  }
  return discarded;
}

/** What a cached file holds, "unreadable: ..." when it cannot be read, undefined when absent. */
async function describeFile<T>(
  load: () => Promise<T | undefined>,
  describe: (value: T) => string,
): Promise<string | undefined> {
  let value: T | undefined;
  try {
    value = await load();
  } catch (error) {
    return `unreadable: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (value === undefined) return undefined;
  try {
    return describe(value);
  } catch {
    return 'unreadable';
  }
}

async function exists(load: () => Promise<unknown>): Promise<boolean> {
  try {
    return (await load()) !== undefined;
  } catch {
    return true;
  }
}

/** The revision, version and signer a cached bundle claims (not verified: it is being thrown away). */
function describeBundle(jws: string): string {
  const [header, payload] = jws.split('.');
  const kid = (decode(header) as { kid?: unknown }).kid;
  const claims = decode(payload) as { revision?: unknown; version?: { number?: unknown } };
  return `revision ${String(claims.revision)}, version ${String(claims.version?.number)}, signed by key ${String(kid)}`;
}

function describePins(stored: unknown): string {
  const keys = (stored as { keys?: { kid?: unknown }[] } | null)?.keys;
  if (!Array.isArray(keys)) return 'unreadable';
  return `kids ${keys.map((key) => String(key?.kid)).join(', ')}`;
}

function decode(part: string | undefined): unknown {
  return JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'));
}
