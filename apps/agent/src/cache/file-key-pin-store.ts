import { join } from 'node:path';
import type { KeyPinStore, PinnedKeys } from '@stepgate/agent-core';
import { readFileIfExists, writeFileAtomic } from './atomic-file.js';

/**
 * The bundle-signing keys pinned on first use or added through a signed rotation, with the
 * endorsements that added them: `trusted-keys.json` in the cache dir.
 */
export class FileKeyPinStore implements KeyPinStore {
  readonly path: string;

  constructor(dir: string) {
    this.path = join(dir, 'trusted-keys.json');
  }

  async load(): Promise<unknown> {
    const text = await readFileIfExists(this.path, 1024 * 1024);
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  }

  async save(pinned: PinnedKeys): Promise<void> {
    await writeFileAtomic(this.path, `${JSON.stringify(pinned, null, 2)}\n`);
  }
}
