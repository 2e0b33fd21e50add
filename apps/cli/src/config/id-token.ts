import { UsageError } from './usage-error.js';
import type { Environment } from './connection.js';

/** `--id-token` / `--audience`: the CI job's OIDC token that identifies the caller. */
export interface IdTokenFlags {
  idToken?: string;
  audience?: string;
}

/** The audience Stepgate's `issuers:` entries expect by default (`audience: stepgate`). */
export const DEFAULT_ID_TOKEN_AUDIENCE = 'stepgate';

/**
 * The OIDC token to call the control plane with instead of an API token, from `--id-token` or
 * `STEPGATE_ID_TOKEN`: `github` asks the GitHub Actions runtime for the job's token (the job
 * needs `permissions: id-token: write`; docs.github.com, "OpenID Connect": a GET on
 * ACTIONS_ID_TOKEN_REQUEST_URL with `&audience=` and ACTIONS_ID_TOKEN_REQUEST_TOKEN as bearer,
 * answering `{"value": "<jwt>"}`); anything else is the token itself (GitLab CI:
 * `id_tokens: { STEPGATE_ID_TOKEN: { aud: stepgate } }` puts it there). The control plane
 * verifies it against the `issuers:` of its active policies and takes the principal from it.
 */
export async function resolveIdToken(
  flags: IdTokenFlags,
  env: Environment,
  fetchFn: typeof fetch = fetch,
): Promise<string | undefined> {
  const value = (flags.idToken ?? env.STEPGATE_ID_TOKEN)?.trim();
  if (value === undefined || value === '') return undefined;
  if (value !== 'github') {
    if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(value))
      throw new UsageError(
        'the ID token (--id-token / STEPGATE_ID_TOKEN) is not a JWT: give the token itself, or "github" to request the job\'s token in GitHub Actions',
      );
    return value;
  }
  const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!url || !bearer)
    throw new UsageError(
      '--id-token github needs ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN: run in GitHub Actions with `permissions: id-token: write`',
    );
  const audience = flags.audience?.trim() || env.STEPGATE_ID_TOKEN_AUDIENCE?.trim();
  const requestUrl = `${url}&audience=${encodeURIComponent(audience || DEFAULT_ID_TOKEN_AUDIENCE)}`;
  let response: Response;
  try {
    response = await fetchFn(requestUrl, {
      headers: { authorization: `bearer ${bearer}`, accept: 'application/json' },
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new UsageError(
      `cannot request the job's OIDC token from GitHub Actions: ${(error as Error).message}`,
    );
  }
  const body = (await response.json().catch(() => undefined)) as { value?: unknown } | undefined;
  if (!response.ok || typeof body?.value !== 'string' || body.value === '')
    throw new UsageError(
      `GitHub Actions gave no OIDC token (HTTP ${response.status}): does the job have \`permissions: id-token: write\`?`,
    );
  return body.value;
}
