import { join } from 'node:path';
import type { GrantCache, StoredGrants } from '@stepgate/agent-core';
import { readFileIfExists, writeFileAtomic } from './atomic-file.js';

/** 10,000 grants of a few KiB each, plus revoked ids. */
const MAX_GRANTS_FILE = 64 * 1024 * 1024;

/**
 * The grants the agent honours (their JWS) and the ids revoked, in `grants.json` in the cache
 * dir, written atomically with mode 0600, so grants survive a restart while the control plane
 * is down. Every grant read back is verified again before use.
 */
export class FileGrantCache implements GrantCache {
  readonly path: string;

  constructor(dir: string) {
    this.path = join(dir, 'grants.json');
  }

  async load(): Promise<StoredGrants | undefined> {
    const text = await readFileIfExists(this.path, MAX_GRANTS_FILE);
    if (text === undefined) return undefined;
    const value = JSON.parse(text) as Partial<StoredGrants> | null;
    const strings = (list: unknown): string[] =>
      Array.isArray(list) ? list.filter((item): item is string => typeof item === 'string') : [];
    return { grants: strings(value?.grants), revoked: strings(value?.revoked) };
  }

  async save(state: StoredGrants): Promise<void> {
    await writeFileAtomic(this.path, `${JSON.stringify(state)}\n`);
  }
}
