import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { ensureEmbeddedRepository } from './embedded-repository.js';

export const EMBEDDED_REPO_NAME = 'policies.git';

/**
 * The policy repository the control plane hosts itself (`/git/policies.git`), created on
 * first start and seeded with the example policies, so `git push` works with no forge.
 */
@Injectable()
export class EmbeddedRepositoryService implements OnModuleInit {
  readonly projectRoot: string;
  readonly dir: string;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.projectRoot = join(config.dataDir, 'git');
    this.dir = join(this.projectRoot, EMBEDDED_REPO_NAME);
  }

  async onModuleInit(): Promise<void> {
    // The hook relays the control plane's verdict to the pusher; it runs the compiled script.
    const hookScript = fileURLToPath(new URL('./post-receive-report.js', import.meta.url));
    await ensureEmbeddedRepository(this.dir, {
      // The first branch, the one the embedded source starts tracking (SourcesService).
      branch: 'main',
      hookScript,
      ...(existsSync(this.config.policySeedDir) ? { seedFrom: this.config.policySeedDir } : {}),
    });
  }
}
