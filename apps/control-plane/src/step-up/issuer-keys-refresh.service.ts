import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { canonicalJson } from '@stepgate/protocol';
import type { Logger } from 'pino';
import { AuditService } from '../audit/audit.service.js';
import { BundleService } from '../bundles/bundle.service.js';
import { LiveStateEvents } from '../bundles/live-state.events.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { PrismaService } from '../database/prisma.service.js';
import { LOGGER } from '../logging/logger.js';
import { IssuerKeysMetrics } from '../issuer-keys/issuer-keys.metrics.js';
import {
  issuersOf,
  IssuerKeysService,
  type IssuerKeys,
} from '../issuer-keys/issuer-keys.service.js';

export const KEYS_REFRESH_ACTOR = 'system:issuer-keys';

/**
 * Gets rotated issuer keys to agents without a new activation. Every STEPGATE_JWKS_REFRESH it
 * fetches the active version's JWKS URLs; when the keys differ from those in the signed active
 * bundle, it re-activates the same version at a new revision (agents refuse a bundle that is
 * not newer), in one transaction with an Activation row and a `bundle.keys_refresh` audit
 * event, and announces the change so the gateway pushes the re-signed bundle.
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
    private readonly prisma: PrismaService,
    private readonly bundles: BundleService,
    private readonly issuerKeys: IssuerKeysService,
    private readonly events: LiveStateEvents,
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
    const state = await this.prisma.activeState.findUnique({ where: { id: 1 } });
    if (!state?.activeVersionId) return undefined;
    const version = await this.prisma.policyVersion.findUnique({
      where: { id: state.activeVersionId },
      select: { id: true, number: true, policySet: true },
    });
    const issuers = issuersOf(version?.policySet).filter((issuer) => issuer.jwksUrl);
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
    this.events.emitChange({ revision, kind: 'activate' });
    return revision;
  }

  private async reactivate(
    versionId: string,
    issuers: string[],
    keys: IssuerKeys,
  ): Promise<number | undefined> {
    return this.prisma.$transaction(async (tx) => {
      // The increment takes the row lock, like every activation.
      const locked = await tx.activeState.update({
        where: { id: 1 },
        data: { revision: { increment: 1 } },
      });
      if (locked.activeVersionId !== versionId) {
        // Activated meanwhile: that activation's bundle already carries fresh keys.
        await tx.activeState.update({ where: { id: 1 }, data: { revision: { decrement: 1 } } });
        return undefined;
      }
      const reason = `issuer keys changed: ${issuers.join(', ')}`;
      await tx.activation.create({
        data: {
          revision: locked.revision,
          kind: 'activate',
          actor: KEYS_REFRESH_ACTOR,
          reason,
          fromVersionId: versionId,
          toVersionId: versionId,
        },
      });
      await this.audit.record(
        {
          actor: KEYS_REFRESH_ACTOR,
          action: 'bundle.keys_refresh',
          target: versionId,
          reason,
          details: {
            revision: locked.revision,
            issuers: Object.fromEntries(
              issuers.map((issuer) => [
                issuer,
                (keys[issuer]?.keys ?? []).map((key) => String(key.kid ?? '')),
              ]),
            ),
          },
        },
        tx,
      );
      return locked.revision;
    });
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
