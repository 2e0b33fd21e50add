import { Inject, Injectable } from '@nestjs/common';
import type { IssuerSettings } from '@stepgate/policy';
import type { Logger } from 'pino';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { LOGGER } from '../logging/logger.js';
import { fetchJwks, JwksFetchError } from './jwks-fetch.js';
import { discoverJwksUri } from './oidc-discovery.js';
import { IssuerKeysMetrics } from './issuer-keys.metrics.js';
import { publicKeys } from './public-jwk.js';

export type IssuerKeys = Record<string, { keys: Record<string, unknown>[] }>;

/** What the control plane knows about one issuer's keys (GET /v1/issuers). */
export interface IssuerKeyStatus {
  issuer: string;
  /** `discovery`: `issuer:` alone, the jwks_uri from its OpenID Provider configuration. */
  source: 'jwksUrl' | 'discovery' | 'inline';
  /** Configured, or discovered (null until discovery succeeded). */
  jwksUrl: string | null;
  kids: string[];
  fetchedAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  consecutiveFailures: number;
}

interface CacheEntry {
  /** The URL the keys came from (the discovered one for discovery). */
  jwksUrl?: string;
  keys?: Record<string, unknown>[];
  fetchedAt?: number;
  lastError?: string;
  lastErrorAt?: number;
  consecutiveFailures: number;
  inflight?: Promise<void>;
}

/** Just what keysFor() reads from a policy set's issuers. */
export type IssuerKeySource = Pick<IssuerSettings, 'issuer' | 'jwksUrl' | 'jwks'>;

/** Whether the control plane fetches this issuer's keys (a jwksUrl, or discovery), or they are inline. */
export function fetchesKeys(issuer: IssuerKeySource): boolean {
  return issuer.jwksUrl !== undefined || issuer.jwks === undefined;
}

/** Where an issuer's fetched keys are cached: per JWKS URL, or per issuer for discovery. */
function cacheKey(issuer: IssuerKeySource): string {
  return issuer.jwksUrl ?? `discovery:${issuer.issuer}`;
}

/** The issuers a stored policy set trusts (none for sets compiled before issuers existed). */
export function issuersOf(policySet: unknown): IssuerKeySource[] {
  const issuers = (policySet as { settings?: { issuers?: unknown } } | null)?.settings?.issuers;
  return Array.isArray(issuers) ? (issuers as IssuerKeySource[]) : [];
}

/**
 * The public keys of the issuers a policy set trusts, for the bundle. JWKS URLs (configured,
 * or found by OIDC discovery for an issuer given alone, the discovery document read again at
 * every fetch so a moved jwks_uri is followed) are fetched and cached for STEPGATE_JWKS_REFRESH; a failed fetch keeps the last good keys (an
 * IdP outage must not stop policy distribution), is logged and counted, and shows in
 * GET /v1/issuers. Inline `jwks` are passed through, reduced to their public members.
 */
@Injectable()
export class IssuerKeysService {
  private readonly cache = new Map<string, CacheEntry>();
  /** The issuers of the last policy set asked about, for the status view. */
  private lastIssuers: IssuerKeySource[] = [];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly metrics: IssuerKeysMetrics,
  ) {}

  /**
   * Keys by issuer. `fresh` fetches every URL now (the periodic refresh); otherwise a URL is
   * fetched only when its keys are older than the refresh interval. Never throws: an issuer
   * whose keys were never fetched is left out, so agents refuse its tokens (fail closed).
   */
  async keysFor(
    issuers: readonly IssuerKeySource[],
    options: { fresh?: boolean } = {},
  ): Promise<IssuerKeys> {
    this.lastIssuers = [...issuers];
    const maxAgeMs = options.fresh ? 0 : this.config.jwksRefreshSeconds * 1000;
    await Promise.all(issuers.filter(fetchesKeys).map((issuer) => this.ensure(issuer, maxAgeMs)));
    const result: IssuerKeys = {};
    for (const issuer of issuers) {
      const keys = fetchesKeys(issuer)
        ? this.cache.get(cacheKey(issuer))?.keys
        : publicKeys(issuer.jwks?.keys ?? []);
      if (keys) result[issuer.issuer] = { keys };
    }
    return result;
  }

  status(): IssuerKeyStatus[] {
    return this.lastIssuers.map((issuer) => {
      const fetched = fetchesKeys(issuer);
      const entry = fetched ? this.cache.get(cacheKey(issuer)) : undefined;
      const keys = fetched ? entry?.keys : publicKeys(issuer.jwks?.keys ?? []);
      return {
        issuer: issuer.issuer,
        source: issuer.jwksUrl ? 'jwksUrl' : fetched ? 'discovery' : 'inline',
        jwksUrl: issuer.jwksUrl ?? entry?.jwksUrl ?? null,
        kids: (keys ?? []).map((key) => String(key.kid ?? '')),
        fetchedAt: entry?.fetchedAt ? new Date(entry.fetchedAt).toISOString() : null,
        lastError: entry?.lastError ?? null,
        lastErrorAt: entry?.lastErrorAt ? new Date(entry.lastErrorAt).toISOString() : null,
        consecutiveFailures: entry?.consecutiveFailures ?? 0,
      };
    });
  }

  private async ensure(issuer: IssuerKeySource, maxAgeMs: number): Promise<void> {
    const key = cacheKey(issuer);
    let entry = this.cache.get(key);
    if (!entry) {
      entry = { consecutiveFailures: 0 };
      this.cache.set(key, entry);
    }
    // After a failure the next attempt waits too, or every signing would wait on a dead IdP.
    const last = Math.max(entry.fetchedAt ?? 0, entry.lastErrorAt ?? 0);
    if (maxAgeMs > 0 && entry.keys && Date.now() - last < maxAgeMs) return;
    if (maxAgeMs > 0 && !entry.keys && entry.lastErrorAt && Date.now() - last < 30_000) return;
    // Concurrent signings share one download per URL.
    entry.inflight ??= this.fetchInto(issuer, entry).finally(() => {
      if (entry) entry.inflight = undefined;
    });
    await entry.inflight;
  }

  private async fetchInto(source: IssuerKeySource, entry: CacheEntry): Promise<void> {
    const issuer = source.issuer;
    const addresses = this.config.outbound;
    // What failed, for the log: the JWKS URL, or the discovery of one.
    let url = source.jwksUrl ?? `OIDC discovery for ${issuer}`;
    try {
      url = source.jwksUrl ?? (await discoverJwksUri(issuer, { addresses }));
      entry.jwksUrl = url;
      const keys = publicKeys(await fetchJwks(url, { addresses }));
      if (keys.length === 0) throw new JwksFetchError(`${url} has no public signing keys`);
      entry.keys = keys;
      entry.fetchedAt = Date.now();
      entry.consecutiveFailures = 0;
      delete entry.lastError;
      this.metrics.lastSuccess.set({ issuer }, Math.floor(entry.fetchedAt / 1000));
    } catch (error) {
      const message =
        error instanceof JwksFetchError ? error.message : `cannot fetch ${url}: unexpected error`;
      entry.lastError = message;
      entry.lastErrorAt = Date.now();
      entry.consecutiveFailures++;
      this.metrics.failures.inc({ issuer });
      this.logger.warn(
        {
          issuer,
          jwksUrl: url,
          failures: entry.consecutiveFailures,
          kept: entry.keys?.length ?? 0,
        },
        `issuer JWKS fetch failed (${message}); ${entry.keys ? 'keeping the last good keys' : 'no keys for this issuer yet: its tokens are refused'}`,
      );
    }
  }
}
