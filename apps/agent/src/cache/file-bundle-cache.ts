import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BundleCache, BundleKind } from '@stepgate/agent-core';
import { readFileIfExists, writeFileAtomic } from './atomic-file.js';

/** Bundles are at most a few MiB of policy; anything far larger is not ours. */
const MAX_BUNDLE_FILE = 64 * 1024 * 1024;

/**
 * The last verified bundles, one file per kind in the cache dir (`active.bundle.jws`,
 * `shadow.bundle.jws`), plus the last sync time (`sync-state.json`). Written atomically with
 * mode 0600. What is read back is verified again before use.
 */
export class FileBundleCache implements BundleCache {
  readonly syncStatePath: string;

  constructor(private readonly dir: string) {
    this.syncStatePath = join(dir, 'sync-state.json');
  }

  path(kind: BundleKind): string {
    return join(this.dir, `${kind}.bundle.jws`);
  }

  async load(kind: BundleKind): Promise<string | undefined> {
    const text = await readFileIfExists(this.path(kind), MAX_BUNDLE_FILE);
    return text?.trim();
  }

  async save(kind: BundleKind, jws: string): Promise<void> {
    await writeFileAtomic(this.path(kind), jws);
  }

  async remove(kind: BundleKind): Promise<void> {
    await rm(this.path(kind), { force: true });
  }

  async loadSyncedAt(): Promise<number | undefined> {
    const text = await readFileIfExists(this.syncStatePath, 4096);
    if (text === undefined) return undefined;
    const value = Date.parse((JSON.parse(text) as { syncedAt?: string }).syncedAt ?? '');
    return Number.isNaN(value) ? undefined : value;
  }

  async saveSyncedAt(syncedAt: number): Promise<void> {
    await writeFileAtomic(
      this.syncStatePath,
      `${JSON.stringify({ syncedAt: new Date(syncedAt).toISOString() }, null, 2)}\n`,
    );
  }
}
