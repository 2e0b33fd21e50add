import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import {
  endorseKeys,
  generateSigningKey,
  importSigningKey,
  StepgateError,
  toJwks,
  type BundleJwks,
} from '@stepgate/protocol';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { LOGGER } from '../logging/logger.js';
import { SigningKeysRepository } from './signing-keys.repository.js';

type ImportedKey = Awaited<ReturnType<typeof importSigningKey>>;

/** The public keys agents may trust, and the endorsements that chain each rotation. */
export interface PublishedKeys extends BundleJwks {
  /** Compact JWS (`typ: stepgate-keys+jws`), oldest rotation first. */
  endorsements: string[];
}

/**
 * The Ed25519 key bundles, grants and agent notices are signed with. Production passes it in
 * (STEPGATE_SIGNING_KEY or STEPGATE_SIGNING_KEY_FILE, a private JWK or PKCS#8 PEM); in
 * development a key is generated once and kept in the data directory, with a warning. Only
 * public keys and endorsements reach the database.
 *
 * Rotation is a signed key set: started with a new key and the previous one
 * (STEPGATE_SIGNING_KEY_PREVIOUS[_FILE]), the previous key signs an endorsement of the new one,
 * stored with it. Agents accept the new key only through that chain, so from then on the
 * previous private key can go.
 */
@Injectable()
export class SigningKeyService implements OnModuleInit {
  private key?: ImportedKey;

  constructor(
    private readonly repository: SigningKeysRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    const key = await importSigningKey(await this.loadPrivateKeyText());
    const previous = await this.loadPreviousKey();
    this.key = key;
    await this.repository.upsert(key.kid, key.publicJwk as object, 'active');
    // A key that is no longer configured is retired but still published, so bundles signed
    // with it keep verifying until agents have moved on.
    await this.repository.retireAllBut(key.kid);
    if (previous !== undefined && previous.kid !== key.kid) await this.endorse(key, previous);
    else if (previous !== undefined)
      this.logger.warn(
        { kid: key.kid },
        'STEPGATE_SIGNING_KEY_PREVIOUS is the current signing key: nothing to endorse',
      );
    await this.warnIfUnendorsed(key);
  }

  current(): ImportedKey {
    if (!this.key) throw new Error('signing key not loaded yet');
    return this.key;
  }

  async publicKeys(): Promise<PublishedKeys> {
    const rows = await this.repository.all();
    return {
      ...toJwks(rows.map((row) => ({ ...(row.publicJwk as object), kid: row.kid }))),
      endorsements: rows.flatMap((row) => (row.endorsement ? [row.endorsement] : [])),
    };
  }

  /** The previous key signs the key set {previous, current}, once per new key. */
  private async endorse(key: ImportedKey, previous: ImportedKey): Promise<void> {
    // Published too (retired), so bundles it signed verify and agents can walk from it.
    await this.repository.upsert(previous.kid, previous.publicJwk as object, 'retired');
    const endorsement = await endorseKeys([previous.publicJwk, key.publicJwk], previous);
    // Only when none is stored: replicas starting together write one, the first.
    if (await this.repository.endorse(key.kid, endorsement, previous.kid))
      this.logger.warn(
        { kid: key.kid, endorsedBy: previous.kid },
        'the previous signing key endorsed the new one: agents that trust it will accept the new key; STEPGATE_SIGNING_KEY_PREVIOUS can now be removed',
      );
    else
      this.logger.info(
        { kid: key.kid },
        'the signing key is already endorsed; STEPGATE_SIGNING_KEY_PREVIOUS can be removed',
      );
  }

  /** A key newer than others but endorsed by none: agents that pinned an older key refuse it. */
  private async warnIfUnendorsed(key: ImportedKey): Promise<void> {
    const row = await this.repository.byKid(key.kid);
    if (!row || row.endorsement) return;
    const older = await this.repository.countOlder(key.kid, row.createdAt);
    if (older === 0) return;
    this.logger.error(
      { kid: key.kid },
      'the signing key has no endorsement from an earlier key: agents that trust an earlier key will refuse its bundles. Start once with STEPGATE_SIGNING_KEY_PREVIOUS (or _FILE) set to the previous key, or reset those agents (stepgate agent --reset-trust, or STEPGATE_TRUSTED_KEYS)',
    );
  }

  /** @throws StepgateError `key/invalid` naming the setting when the key cannot be used. */
  private async loadPreviousKey(): Promise<ImportedKey | undefined> {
    // The configuration has already read STEPGATE_SIGNING_KEY_PREVIOUS_FILE into this.
    const { signingKeyPrevious } = this.config;
    if (signingKeyPrevious === undefined) return undefined;
    const setting = 'STEPGATE_SIGNING_KEY_PREVIOUS (or _FILE)';
    try {
      return await importSigningKey(signingKeyPrevious);
    } catch (error) {
      throw new StepgateError(
        'key/invalid',
        `${setting}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  private async loadPrivateKeyText(): Promise<string> {
    if (this.config.signingKey) return this.config.signingKey;
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
