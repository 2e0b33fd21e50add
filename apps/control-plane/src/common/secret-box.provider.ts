import type { Provider } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { SecretBox } from './secret-box.js';

/** The SecretBox key: STEPGATE_SECRET_KEY, else one generated once into the data directory. */
export const secretBoxProvider: Provider = {
  provide: SecretBox,
  inject: [APP_CONFIG],
  // Several modules list this provider and Nest builds them concurrently: share one load so
  // two first starts cannot race to create the key file (the loser would fail with EEXIST).
  useFactory: (config: AppConfig) => {
    const key = config.secretKey ? 'STEPGATE_SECRET_KEY' : config.dataDir;
    let box = loading.get(key);
    if (!box) {
      box = loadSecretBox(config);
      loading.set(key, box);
    }
    return box;
  },
};

const loading = new Map<string, Promise<SecretBox>>();

async function loadSecretBox(config: AppConfig): Promise<SecretBox> {
  if (config.secretKey) return new SecretBox(Buffer.from(config.secretKey, 'base64'));
  const file = join(config.dataDir, 'secret.key');
  try {
    return new SecretBox(Buffer.from((await readFile(file, 'utf8')).trim(), 'base64'));
  } catch {
    const key = randomBytes(32);
    await mkdir(config.dataDir, { recursive: true });
    await writeFile(file, key.toString('base64'), { mode: 0o600, flag: 'wx' });
    return new SecretBox(key);
  }
}
