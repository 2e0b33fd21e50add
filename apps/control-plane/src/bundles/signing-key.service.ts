import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { generateSigningKey, importSigningKey, toJwks } from '@stepgate/protocol';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { PrismaService } from '../database/prisma.service.js';
import { LOGGER } from '../logging/logger.js';

type ImportedKey = Awaited<ReturnType<typeof importSigningKey>>;

/**
 * The Ed25519 key bundles are signed with. Production passes it in (STEPGATE_SIGNING_KEY or
 * STEPGATE_SIGNING_KEY_FILE, a private JWK or PKCS#8 PEM); in development a key is generated
 * once and kept in the data directory, with a warning. Only public keys reach the database.
 */
@Injectable()
export class SigningKeyService implements OnModuleInit {
  private key?: ImportedKey;

  constructor(
    private readonly prisma: PrismaService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    this.key = await importSigningKey(await this.loadPrivateKeyText());
    await this.prisma.signingKey.upsert({
      where: { kid: this.key.kid },
      create: {
        kid: this.key.kid,
        algorithm: 'EdDSA',
        publicJwk: this.key.publicJwk as object,
        status: 'active',
      },
      update: { status: 'active' },
    });
    // A key that is no longer configured is retired but still published, so bundles signed
    // with it keep verifying until agents have moved on.
    await this.prisma.signingKey.updateMany({
      where: { kid: { not: this.key.kid }, status: 'active' },
      data: { status: 'retired' },
    });
  }

  current(): ImportedKey {
    if (!this.key) throw new Error('signing key not loaded yet');
    return this.key;
  }

  async publicKeys() {
    const rows = await this.prisma.signingKey.findMany({ orderBy: { createdAt: 'asc' } });
    return toJwks(rows.map((row) => ({ ...(row.publicJwk as object), kid: row.kid })));
  }

  private async loadPrivateKeyText(): Promise<string> {
    if (this.config.signingKey) return this.config.signingKey;
    if (this.config.signingKeyFile) return readFile(this.config.signingKeyFile, 'utf8');
    const file = join(this.config.dataDir, 'signing-key.jwk');
    try {
      return await readFile(file, 'utf8');
    } catch {
      const generated = await generateSigningKey();
      await mkdir(this.config.dataDir, { recursive: true });
      await writeFile(file, JSON.stringify(generated.privateJwk), { mode: 0o600, flag: 'wx' });
      this.logger.warn(
        { file, kid: generated.kid },
        'no signing key configured: generated a development key; set STEPGATE_SIGNING_KEY_FILE in production',
      );
      return JSON.stringify(generated.privateJwk);
    }
  }
}
