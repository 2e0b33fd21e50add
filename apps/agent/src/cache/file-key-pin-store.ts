import { join } from 'node:path';
import type { KeyPinStore } from '@stepgate/agent-core';
import type { BundleJwks } from '@stepgate/protocol';
import { readFileIfExists, writeFileAtomic } from './atomic-file.js';

/** The bundle-signing keys pinned on first use: `trusted-keys.json` in the cache dir. */
export class FileKeyPinStore implements KeyPinStore {
  readonly path: string;

  constructor(dir: string) {
    this.path = join(dir, 'trusted-keys.json');
  }

  async load(): Promise<unknown> {
    const text = await readFileIfExists(this.path, 1024 * 1024);
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  }

  async save(jwks: BundleJwks): Promise<void> {
    await writeFileAtomic(this.path, `${JSON.stringify(jwks, null, 2)}\n`);
  }
}
