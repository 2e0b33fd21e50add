import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

/**
 * A local stand-in for GitHub Actions' OIDC provider and for the runner's token endpoint, as
 * GitHub documents them (neither can be reached from here):
 *
 * - https://docs.github.com/en/actions/reference/security/oidc (the token's claims: iss, aud,
 *   sub `repo:<owner>/<repo>:environment:<env>`, repository, repository_owner, actor,
 *   environment, ref, ref_type, sha, event_name, workflow_ref, job_workflow_ref, run_id...; the
 *   discovery document at <issuer>/.well-known/openid-configuration naming jwks_uri)
 * - https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect
 *   ("Methods for requesting the OIDC token": a job with `permissions: id-token: write` gets
 *   ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN; a GET on
 *   `$ACTIONS_ID_TOKEN_REQUEST_URL&audience=<aud>` with `Authorization: bearer
 *   $ACTIONS_ID_TOKEN_REQUEST_TOKEN` answers JSON whose `value` is the JWT)
 *
 * Tokens are RS256 (as GitHub signs them) with the key this server publishes; tests can also
 * mint forged (another key), expired and wrong-audience tokens.
 */
export interface GitHubActionsOidc {
  /** `iss`: the server's base URL (discovery at /.well-known/openid-configuration). */
  issuer: string;
  /** ACTIONS_ID_TOKEN_REQUEST_URL: already has a query, so `&audience=` is appended. */
  requestUrl: string;
  /** ACTIONS_ID_TOKEN_REQUEST_TOKEN: the runner's bearer for requestUrl. */
  requestToken: string;
  /** Signs a job token; `claims` override the job's. */
  token(claims?: Record<string, unknown>, options?: { forged?: boolean }): Promise<string>;
  /** The claims the runner's endpoint puts in the tokens it hands out (job, actor...). */
  job: Record<string, unknown>;
  /** Audiences asked of the runner's endpoint, in order. */
  requestedAudiences: string[];
  close(): Promise<void>;
}

/** A job deploying acme/billing to environment production from main, started by `actor`. */
export function githubJobClaims(
  actor: string,
  environment = 'production',
): Record<string, unknown> {
  return {
    sub: `repo:acme/billing:environment:${environment}`,
    repository: 'acme/billing',
    repository_id: '501',
    repository_owner: 'acme',
    repository_owner_id: '71',
    actor,
    actor_id: '1001',
    environment,
    ref: 'refs/heads/main',
    ref_type: 'branch',
    ref_protected: 'true',
    sha: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    event_name: 'push',
    workflow: 'deploy',
    workflow_ref: 'acme/billing/.github/workflows/deploy.yml@refs/heads/main',
    job_workflow_ref: 'acme/billing/.github/workflows/deploy.yml@refs/heads/main',
    run_id: '9000001',
    run_number: '42',
    run_attempt: '1',
    runner_environment: 'github-hosted',
  };
}

export async function startGitHubActionsOidc(
  options: { audience?: string; actor?: string } = {},
): Promise<GitHubActionsOidc> {
  const defaultAudience = options.audience ?? 'stepgate';
  const key = await rsaKey('gh-1');
  const forged = await rsaKey('gh-1');
  const requestToken = `runtime-${Math.random().toString(36).slice(2)}`;
  const requestedAudiences: string[] = [];
  const job = githubJobClaims(options.actor ?? 'alice');
  let base = '';

  const sign = async (claims: Record<string, unknown>, signer: typeof key): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      jti: `jti-${Math.random().toString(36).slice(2)}`,
      iss: base,
      aud: defaultAudience,
      nbf: now - 5,
      iat: now - 5,
      exp: now + 300,
      ...job,
      ...claims,
    })
      .setProtectedHeader({ alg: 'RS256', kid: signer.kid, typ: 'JWT', x5t: 'test' })
      .sign(signer.privateKey);
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', base);
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (url.pathname === '/.well-known/openid-configuration')
      return json(200, {
        issuer: base,
        jwks_uri: `${base}/.well-known/jwks`,
        subject_types_supported: ['public', 'pairwise'],
        response_types_supported: ['id_token'],
        claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'ref', 'repository'],
        id_token_signing_alg_values_supported: ['RS256'],
        scopes_supported: ['openid'],
      });
    if (url.pathname === '/.well-known/jwks') return json(200, { keys: [key.publicJwk] });
    if (url.pathname === '/_apis/distributedtask/idtoken') {
      if (req.headers.authorization !== `bearer ${requestToken}`)
        return json(401, { message: 'invalid runtime token' });
      const audience = url.searchParams.get('audience') ?? defaultAudience;
      requestedAudiences.push(audience);
      void sign({ aud: audience }, key).then((value) => json(200, { count: value.length, value }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    get issuer() {
      return base;
    },
    requestUrl: `${base}/_apis/distributedtask/idtoken?api-version=2.0`,
    requestToken,
    job,
    requestedAudiences,
    token: (claims = {}, tokenOptions = {}) => sign(claims, tokenOptions.forged ? forged : key),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function rsaKey(
  kid: string,
): Promise<{ kid: string; privateKey: CryptoKey; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return {
    kid,
    privateKey,
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
  };
}
