import { Inject, Injectable } from '@nestjs/common';
import { fetchableUrl } from '@stepgate/policy';
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { Logger } from 'pino';
import { z } from 'zod';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { fetchGuardedJson, fetchJwks, JwksFetchError } from '../issuer-keys/jwks-fetch.js';
import { discoveryUrl } from '../issuer-keys/oidc-discovery.js';
import { publicKeys } from '../issuer-keys/public-jwk.js';
import { LOGGER } from '../logging/logger.js';

/** What the console and the token check need from an OpenID Provider's configuration. */
export interface ProviderMetadata {
  authorizationEndpoint: string;
  tokenEndpoint: string;
  endSessionEndpoint: string | null;
  jwksUri: string;
}

// Providers publish many more members (OIDC Discovery 3); unknown ones are ignored.
const metadataSchema = z.object({
  issuer: z.string(),
  authorization_endpoint: z.string(),
  token_endpoint: z.string(),
  jwks_uri: z.string(),
  end_session_endpoint: z.string().optional(),
  code_challenge_methods_supported: z.array(z.string()).optional(),
});

/** After a failure the next try waits this long: a dead IdP must not be asked on every request. */
const RETRY_AFTER_MS = 30_000;
/** An unknown `kid` refetches the JWKS (a rotation), at most this often. */
const KID_REFETCH_MS = 30_000;

interface Cached<T> {
  value?: T;
  at?: number;
  error?: string;
  errorAt?: number;
  inflight?: Promise<void>;
}

/**
 * The console issuer's discovery document and signing keys, fetched by the control plane with
 * the protections of every outbound fetch (address policy, no redirects, 5 s timeout, size cap),
 * cached for STEPGATE_JWKS_REFRESH, the last good copy kept when a refresh fails.
 */
@Injectable()
export class ConsoleProviderService {
  private readonly metadataCache = new Map<string, Cached<ProviderMetadata>>();
  private readonly keysCache = new Map<string, Cached<JWTVerifyGetKey>>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** @throws JwksFetchError naming the URL and what is wrong, when no good copy is held. */
  async metadata(issuer: string): Promise<ProviderMetadata> {
    return this.cached(this.metadataCache, issuer, this.refreshMs(), () => this.discover(issuer));
  }

  /**
   * The issuer's public signing keys. `unknownKid`: a token named a key the held set lacks, so
   * the set is fetched again (at most every 30 s) in case the provider rotated.
   */
  async keys(issuer: string, options: { unknownKid?: boolean } = {}): Promise<JWTVerifyGetKey> {
    const maxAge = options.unknownKid ? KID_REFETCH_MS : this.refreshMs();
    return this.cached(this.keysCache, issuer, maxAge, async () => {
      const { jwksUri } = await this.metadata(issuer);
      const keys = publicKeys(await fetchJwks(jwksUri, { addresses: this.config.outbound }));
      if (keys.length === 0) throw new JwksFetchError(`${jwksUri} has no public signing keys`);
      return createLocalJWKSet({ keys } as unknown as JSONWebKeySet);
    });
  }

  private refreshMs(): number {
    return this.config.jwksRefreshSeconds * 1000;
  }

  private async cached<T>(
    cache: Map<string, Cached<T>>,
    issuer: string,
    maxAgeMs: number,
    load: () => Promise<T>,
  ): Promise<T> {
    let entry = cache.get(issuer);
    if (!entry) cache.set(issuer, (entry = {}));
    const now = Date.now();
    const fresh = entry.value !== undefined && now - (entry.at ?? 0) < maxAgeMs;
    const resting = entry.errorAt !== undefined && now - entry.errorAt < RETRY_AFTER_MS;
    if (!fresh && !resting) {
      const current = entry;
      // Concurrent requests share one fetch.
      current.inflight ??= load()
        .then((value) => {
          current.value = value;
          current.at = Date.now();
          delete current.error;
          delete current.errorAt;
        })
        .catch((error: unknown) => {
          current.error =
            error instanceof JwksFetchError ? error.message : `unexpected error (${issuer})`;
          current.errorAt = Date.now();
          this.logger.warn(
            { issuer, kept: current.value !== undefined },
            `console OIDC issuer fetch failed: ${current.error}`,
          );
        })
        .finally(() => (current.inflight = undefined));
      await current.inflight;
    }
    if (entry.value !== undefined) return entry.value;
    throw new JwksFetchError(entry.error ?? `nothing fetched from ${issuer} yet`);
  }

  /** OIDC Discovery 4: the document must name this issuer exactly, its URLs must be fetchable. */
  private async discover(issuer: string): Promise<ProviderMetadata> {
    const url = discoveryUrl(issuer);
    const parsed = metadataSchema.safeParse(
      await fetchGuardedJson(url, {
        addresses: this.config.outbound,
        maxBytes: 256 * 1024,
        accept: 'application/json',
      }),
    );
    if (!parsed.success)
      throw new JwksFetchError(
        `${url} is not an OpenID Provider configuration: ${parsed.error.issues
          .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
          .join('; ')}`,
      );
    const doc = parsed.data;
    if (doc.issuer !== issuer)
      throw new JwksFetchError(
        `${url} names issuer ${JSON.stringify(doc.issuer.slice(0, 200))}, not ${JSON.stringify(issuer)}: console.oidc.issuer must match the provider's exactly (OIDC Discovery 4.3)`,
      );
    for (const [name, value] of [
      ['authorization_endpoint', doc.authorization_endpoint],
      ['token_endpoint', doc.token_endpoint],
      ['jwks_uri', doc.jwks_uri],
    ] as const)
      if (!fetchableUrl(value))
        throw new JwksFetchError(
          `${url} gives ${name} ${JSON.stringify(value.slice(0, 200))}; it must be an https:// URL (http:// only for localhost)`,
        );
    const methods = doc.code_challenge_methods_supported;
    if (methods !== undefined && !methods.includes('S256'))
      throw new JwksFetchError(
        `${url} does not list S256 in code_challenge_methods_supported: the console signs in with PKCE S256 only`,
      );
    return {
      authorizationEndpoint: doc.authorization_endpoint,
      tokenEndpoint: doc.token_endpoint,
      endSessionEndpoint:
        doc.end_session_endpoint !== undefined && fetchableUrl(doc.end_session_endpoint)
          ? doc.end_session_endpoint
          : null,
      jwksUri: doc.jwks_uri,
    };
  }
}
