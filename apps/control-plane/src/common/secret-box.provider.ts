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
  useFactory: async (config: AppConfig) => {
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
  },
};
