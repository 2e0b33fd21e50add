import { fetchableUrl } from '@stepgate/policy';
import { z } from 'zod';
import type { OutboundPolicy } from '../common/outbound-guard.js';
import { fetchGuardedJson, JwksFetchError } from './jwks-fetch.js';

// Providers publish many more members (OIDC Discovery §3); only these two matter here.
const discoverySchema = z.object({
  issuer: z.string(),
  jwks_uri: z.string(),
});

/**
 * The discovery document's URL for an issuer (OIDC Discovery §4): a terminating `/` of the
 * issuer is removed before `/.well-known/openid-configuration` is appended.
 */
export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
}

/**
 * The `jwks_uri` of an issuer configured by `issuer:` alone. The document is fetched with the
 * protections of every outbound fetch (address policy, no redirects, timeout, size cap); its
 * `issuer` must equal the configured one exactly (OIDC Discovery §4.3, or another provider's
 * keys could be trusted for this issuer), and its `jwks_uri` must be a URL the control plane
 * may fetch (https, or http on loopback), as a configured `jwksUrl` must.
 * @throws JwksFetchError with a message that names the URL and what is wrong.
 */
export async function discoverJwksUri(
  issuer: string,
  options: { addresses: OutboundPolicy; timeoutMs?: number },
): Promise<string> {
  const url = discoveryUrl(issuer);
  const parsed = discoverySchema.safeParse(
    await fetchGuardedJson(url, { ...options, maxBytes: 256 * 1024, accept: 'application/json' }),
  );
  if (!parsed.success)
    throw new JwksFetchError(
      `${url} is not an OpenID Provider configuration: ${parsed.error.issues
        .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
        .join('; ')}`,
    );
  const document = parsed.data;
  if (document.issuer !== issuer)
    throw new JwksFetchError(
      `${url} names issuer ${JSON.stringify(document.issuer.slice(0, 200))}, not ${JSON.stringify(issuer)}: the configured issuer must match the provider's exactly (OIDC Discovery 4.3)`,
    );
  if (!fetchableUrl(document.jwks_uri))
    throw new JwksFetchError(
      `${url} gives jwks_uri ${JSON.stringify(document.jwks_uri.slice(0, 200))}; it must be an https:// URL (http:// only for localhost)`,
    );
  return document.jwks_uri;
}
