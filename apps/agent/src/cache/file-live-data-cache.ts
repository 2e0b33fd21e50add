import { join } from 'node:path';
import type { LiveDataCache } from '@stepgate/agent-core';
import { dataMessageSchema, type DataMessage } from '@stepgate/protocol';
import { z } from 'zod';
import { readFileIfExists, writeFileAtomic } from './atomic-file.js';

/** At most one message per live document is kept; each is bounded by the protocol. */
const MAX_LIVE_DATA_FILE = 256 * 1024 * 1024;

const storedSchema = z.object({ messages: z.array(dataMessageSchema) });

/**
 * The signed live-data messages the agent's live data is built from (`live-data.json` in the
 * cache dir, beside the bundles), written atomically with mode 0600. What is read back is
 * verified again before use (LiveDataStore.loadFromCache).
 */
export class FileLiveDataCache implements LiveDataCache {
  readonly path: string;

  constructor(dir: string) {
    this.path = join(dir, 'live-data.json');
  }

  async load(): Promise<DataMessage[] | undefined> {
    const text = await readFileIfExists(this.path, MAX_LIVE_DATA_FILE);
    if (text === undefined) return undefined;
    const parsed = storedSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`${this.path} is not a live-data cache file`);
    return parsed.data.messages;
  }

  async save(messages: DataMessage[]): Promise<void> {
    await writeFileAtomic(this.path, `${JSON.stringify({ messages })}\n`);
  }
}
