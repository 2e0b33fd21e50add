import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { canonicalJson } from '@stepgate/protocol';
import type { Logger } from 'pino';
import { AuditService } from '../audit/audit.service.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { LiveStateRepository } from '../live-state/live-state.repository.js';
import { LiveStateService } from '../live-state/live-state.service.js';
import { LOGGER } from '../logging/logger.js';
import { VersionsRepository } from '../versions/versions.repository.js';
import { IssuerKeysMetrics } from '../issuer-keys/issuer-keys.metrics.js';
import {
  fetchesKeys,
  issuersOf,
  IssuerKeysService,
  type IssuerKeys,
} from '../issuer-keys/issuer-keys.service.js';
import { BundleService } from './bundle.service.js';

export const KEYS_REFRESH_ACTOR = 'system:issuer-keys';

/**
 * Gets rotated issuer keys to agents without a new activation. Every STEPGATE_JWKS_REFRESH it
 * fetches the active version's JWKS URLs (configured or discovered); when the keys differ from those in the signed active
 * bundle, it re-activates the same version at a new revision (agents refuse a bundle that is
 * not newer), through the live state's owner (a re-issue, with a `bundle.keys_refresh` audit
 * event in the same transaction), which announces it so the gateway pushes the re-signed bundle.
 *
 * Why an Activation row (kind `activate`, from = to): the revision then moves exactly as for
 * any activation, so agent catch-up on reconnect, fleet convergence and propagation times all
 * see it with no special case; rollback history skips same-version rows.
 */
@Injectable()
export class IssuerKeysRefreshService implements OnModuleInit, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly versions: VersionsRepository,
    private readonly bundles: BundleService,
    private readonly issuerKeys: IssuerKeysService,
    private readonly liveState: LiveStateService,
    private readonly liveStateRepository: LiveStateRepository,
    private readonly audit: AuditService,
    private readonly metrics: IssuerKeysMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => {
      this.running ??= this.refresh()
        .then(() => undefined)
        .catch((error: unknown) =>
          this.logger.warn(
            { error: (error as Error)?.message ?? String(error) },
            'issuer keys refresh failed; retrying at the next interval',
          ),
        )
        .finally(() => (this.running = undefined));
    }, this.config.jwksRefreshSeconds * 1000);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One refresh; resolves with the new revision when a re-signed bundle was published. */
  async refresh(): Promise<number | undefined> {
    const { activeVersionId } = await this.liveStateRepository.current();
    if (!activeVersionId) return undefined;
    const version = await this.versions.byId(activeVersionId);
    const issuers = issuersOf(version?.policySet).filter(fetchesKeys);
    if (!version || issuers.length === 0) return undefined;
    const fetched = await this.issuerKeys.keysFor(issuersOf(version.policySet), { fresh: true });
    const signed = signedIssuerKeys((await this.bundles.current('active')).jws);
    const changed = Object.keys({ ...fetched, ...signed }).filter(
      (issuer) => canonicalJson(fetched[issuer] ?? null) !== canonicalJson(signed[issuer] ?? null),
    );
    // An issuer that failed and had no keys before is not a change worth a revision.
    if (changed.length === 0) return undefined;
    const revision = await this.reactivate(version.id, changed, fetched);
    if (revision === undefined) return undefined;
    this.metrics.refreshes.inc();
    this.logger.info(
      { revision, version: version.number, issuers: changed },
      'issuer keys changed: publishing a re-signed bundle',
    );
    return revision;
  }

  private async reactivate(
    versionId: string,
    issuers: string[],
    keys: IssuerKeys,
  ): Promise<number | undefined> {
    const reason = `issuer keys changed: ${issuers.join(', ')}`;
    const applied = await this.liveState.change(
      {
        kind: 'activate',
        toVersionId: versionId,
        actor: KEYS_REFRESH_ACTOR,
        reason,
        // Activated meanwhile: that activation's bundle already carries fresh keys.
        reissue: true,
      },
      (tx, { revision }) =>
        this.audit.record(
          {
            actor: KEYS_REFRESH_ACTOR,
            action: 'bundle.keys_refresh',
            target: versionId,
            reason,
            details: {
              revision,
              issuers: Object.fromEntries(
                issuers.map((issuer) => [
                  issuer,
                  (keys[issuer]?.keys ?? []).map((key) => String(key.kid ?? '')),
                ]),
              ),
            },
          },
          tx,
        ),
    );
    return applied.changed ? applied.revision : undefined;
  }
}

/** The issuer keys inside a bundle this control plane signed (no need to verify our own). */
function signedIssuerKeys(jws: string): IssuerKeys {
  const payload = JSON.parse(
    Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8'),
  ) as {
    issuerKeys?: IssuerKeys;
  };
  return payload.issuerKeys ?? {};
}
