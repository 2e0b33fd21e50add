/**
 * A real OpenID Provider for the suites: the `oidc-provider` package (9.x), in-process on
 * loopback, with a login page of its own that a test drives over plain HTTP, and a relying
 * party that runs the authorization code flow with PKCE against it.
 *
 * - The provider publishes discovery (`/.well-known/openid-configuration`) and its JWKS, and
 *   mints JWT access tokens for one API (a resource indicator, RFC 8707) carrying `acr`, `amr`
 *   and `auth_time` of the authentication behind them: an RFC 9470 resource server's evidence.
 * - The login page (`/interaction/<uid>`) takes a password and, for MFA, a TOTP code. Whether
 *   the user is logged in with `urn:stepgate:mfa` or `urn:stepgate:pwd` follows from what they
 *   present; asked for acr_values it cannot meet, the page refuses. `authenticatedAt` back-dates
 *   the session: the user "logged in with MFA twenty minutes ago" (a login's `ts`, which an IdP
 *   sets when it remembers an earlier authentication).
 * - `rotate()` replaces the signing key: the new key first, the old one still published (how
 *   providers rotate), on the same issuer and port.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider, { errors } from 'oidc-provider';
import { generate, verify } from 'otplib';

export const ACR_PWD = 'urn:stepgate:pwd';
export const ACR_MFA = 'urn:stepgate:mfa';
export const ACR_PHR = 'urn:stepgate:phr';

export interface TestUser {
  id: string;
  password: string;
  /** Base32 TOTP secret of the user's authenticator app. */
  totpSecret: string;
  /** Claims beyond `sub` (e.g. email, groups), released for the scopes of the same name. */
  claims?: Record<string, unknown>;
}

export interface OpenIdProviderOptions {
  /** The resource indicator of the protected API; the `aud` of its access tokens. */
  api: string;
  user: TestUser;
  /** More people who may sign in. */
  others?: TestUser[];
  /** More redirect URIs for the client (the console's callback in the browser suites). */
  redirectUris?: string[];
}

export interface OpenIdProvider {
  issuer: string;
  clientId: string;
  redirectUri: string;
  api: string;
  /** The `kid` of the key new tokens are signed with. */
  readonly signingKid: string;
  /** What the provider's login page was asked for, oldest first. */
  readonly logins: LoginSeen[];
  /** A new signing key first in the JWKS, the previous one kept after it. */
  rotate(): Promise<string>;
  /** Lifetime in seconds of the ID tokens minted from now on (600 at start). */
  idTokenTtl: number;
  close(): Promise<void>;
}

export interface LoginSeen {
  prompt: string;
  reasons: string[];
  acrValues: string | undefined;
  maxAge: number | undefined;
}

const CLIENT_ID = 'stepgate-e2e-client';
const REDIRECT_URI = 'https://client.example.test/callback';

async function signingKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `rsa-${randomBytes(4).toString('hex')}`;
  return { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
}

export async function startOpenIdProvider(options: OpenIdProviderOptions): Promise<OpenIdProvider> {
  const logins: LoginSeen[] = [];
  let keys: JWK[] = [await signingKey()];
  let provider: Provider | undefined;
  const cookieKeys = [randomBytes(32).toString('hex')];
  const users = [options.user, ...(options.others ?? [])];
  let idTokenTtl = 600;

  const server: Server = createServer((req, res) => {
    const url = req.url ?? '';
    if (provider === undefined) return void res.writeHead(503).end();
    if (url.startsWith('/interaction/'))
      return void interaction(provider, req, res).catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String((error as Error)?.stack ?? error));
      });
    return void provider.callback()(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const build = (): Provider => {
    const built = new Provider(issuer, {
      clients: [
        {
          client_id: CLIENT_ID,
          token_endpoint_auth_method: 'none',
          redirect_uris: [REDIRECT_URI, ...(options.redirectUris ?? [])],
          grant_types: ['authorization_code'],
          response_types: ['code'],
        },
      ],
      jwks: { keys },
      cookies: { keys: cookieKeys },
      acrValues: [ACR_PWD, ACR_MFA, ACR_PHR],
      claims: {
        openid: ['sub'],
        email: ['email'],
        groups: ['groups'],
        acr: null,
        amr: null,
        auth_time: null,
      },
      pkce: { required: () => true },
      // Explicit lifetimes (seconds), so the provider does not warn about its defaults.
      ttl: {
        AccessToken: 600,
        AuthorizationCode: 60,
        Grant: 3600,
        IdToken: () => idTokenTtl,
        Interaction: 600,
        Session: 3600,
      },
      features: {
        devInteractions: { enabled: false },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => options.api,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx: unknown, resource: string) => {
            if (resource !== options.api) throw new errors.InvalidTarget();
            return {
              scope: 'api',
              audience: options.api,
              accessTokenFormat: 'jwt',
              accessTokenTTL: 600,
            };
          },
        },
      },
      interactions: {
        url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
      },
      findAccount: (_ctx: unknown, id: string) => {
        const found = users.find((user) => user.id === id);
        return found ? { accountId: id, claims: () => ({ ...found.claims, sub: id }) } : undefined;
      },
      // A first-party client: every scope and the API are granted without a consent page.
      loadExistingGrant: async (ctx: any) => {
        const oidc = ctx.oidc;
        const grantId =
          oidc.result?.consent?.grantId ?? oidc.session.grantIdFor(oidc.client.clientId);
        if (grantId) {
          const found = await oidc.provider.Grant.find(grantId);
          if (found) return found;
        }
        const grant = new oidc.provider.Grant({
          clientId: oidc.client.clientId,
          accountId: oidc.session.accountId,
        });
        grant.addOIDCScope('openid email groups');
        grant.addResourceScope(options.api, 'api');
        await grant.save();
        return grant;
      },
      // The access token carries the authentication behind it (RFC 9470 section 3 / 6.1).
      extraTokenClaims: (ctx: any) => {
        const code = ctx?.oidc?.entities?.AuthorizationCode;
        if (code === undefined) return undefined;
        return { acr: code.acr, amr: code.amr, auth_time: code.authTime };
      },
    });
    built.on('server_error', (_ctx: unknown, error: Error) => {
      console.error('oidc-provider server_error', error);
    });
    return built;
  };
  provider = build();

  async function interaction(current: Provider, req: IncomingMessage, res: ServerResponse) {
    const details = await current.interactionDetails(req, res);
    const params = details.params as Record<string, string | undefined>;
    if (req.method === 'GET') {
      const seen: LoginSeen = {
        prompt: details.prompt.name,
        reasons: [...details.prompt.reasons],
        acrValues: params.acr_values,
        maxAge: params.max_age === undefined ? undefined : Number(params.max_age),
      };
      logins.push(seen);
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ uid: details.uid, ...seen }));
    }
    const form = new URLSearchParams(await readBody(req));
    const user = users.find((candidate) => candidate.id === form.get('username'));
    if (user === undefined || form.get('password') !== user.password) {
      res.writeHead(401, { 'content-type': 'text/plain' });
      return res.end('wrong user name or password');
    }
    const otp = form.get('otp');
    // A code typed at the end of its 30 s period is still good (as authenticator apps expect).
    const mfa =
      otp !== null &&
      (await verify({ secret: user.totpSecret, token: otp, epochTolerance: 30 })).valid;
    if (otp !== null && !mfa) {
      res.writeHead(401, { 'content-type': 'text/plain' });
      return res.end('wrong one-time code');
    }
    const acr = mfa ? ACR_MFA : ACR_PWD;
    const asked = params.acr_values?.split(' ').filter(Boolean) ?? [];
    if (asked.length > 0 && !asked.includes(acr)) {
      res.writeHead(403, { 'content-type': 'text/plain' });
      return res.end(`the application asked for ${asked.join(' or ')}: sign in with it`);
    }
    const at = form.get('authenticatedAt');
    await current.interactionFinished(
      req,
      res,
      {
        login: {
          accountId: user.id,
          acr,
          amr: mfa ? ['pwd', 'otp'] : ['pwd'],
          ...(at ? { ts: Number(at) } : {}),
        },
      },
      { mergeWithLastSubmission: false },
    );
  }

  return {
    issuer,
    clientId: CLIENT_ID,
    redirectUri: REDIRECT_URI,
    api: options.api,
    logins,
    get signingKid() {
      return String(keys[0]?.kid);
    },
    get idTokenTtl() {
      return idTokenTtl;
    },
    set idTokenTtl(seconds: number) {
      idTokenTtl = seconds;
    },
    async rotate() {
      const fresh = await signingKey();
      keys = [fresh, ...keys];
      // The same issuer, port and cookie keys: only the keys change.
      provider = build();
      return String(fresh.kid);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

// ---------------------------------------------------------------------------------------------
// The relying party

/** What the application's client asks the provider for (from an RFC 9470 challenge). */
export interface AuthorizationAsk {
  acrValues?: string;
  maxAge?: number;
  /** Scopes asked for (default `openid api`). */
  scope?: string;
}

/** What the token endpoint answered. */
export interface TokenSet {
  accessToken: string;
  idToken: string;
}

/** How the user signs in at the provider's login page. */
export interface Credentials {
  password: string;
  /** Present a TOTP code from the user's authenticator (MFA). */
  withOtp: boolean;
  /** Back-date the authentication (epoch seconds): an old session. */
  authenticatedAt?: number;
}

/**
 * A browser-less relying party: one cookie jar (the user's session at the provider), the
 * authorization code flow with PKCE (S256) and a resource indicator, redirects followed by
 * hand so the code is read from the redirect to `redirectUri` without a server there.
 */
export class RelyingParty {
  private readonly cookies = new Map<string, string>();
  /** The login pages this client was shown, in its last flow. */
  shown: LoginSeen[] = [];

  constructor(
    private readonly op: OpenIdProvider,
    private readonly user: TestUser,
  ) {}

  /** Runs the flow; returns the access token. Signs in whenever the provider asks to. */
  async accessToken(ask: AuthorizationAsk, credentials: Credentials): Promise<string> {
    return (await this.tokens(ask, credentials)).accessToken;
  }

  /** Runs the flow; returns the access token and the ID token of the token response. */
  async tokens(ask: AuthorizationAsk, credentials: Credentials): Promise<TokenSet> {
    this.shown = [];
    const verifier = randomBytes(32).toString('base64url');
    const state = randomBytes(8).toString('hex');
    const query = new URLSearchParams({
      client_id: this.op.clientId,
      response_type: 'code',
      redirect_uri: this.op.redirectUri,
      scope: ask.scope ?? 'openid api',
      resource: this.op.api,
      state,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    });
    if (ask.acrValues !== undefined) query.set('acr_values', ask.acrValues);
    if (ask.maxAge !== undefined) query.set('max_age', String(ask.maxAge));

    let location = `${this.op.issuer}/auth?${query}`;
    for (let hop = 0; hop < 10; hop++) {
      if (location.startsWith(this.op.redirectUri)) {
        const answer = new URL(location).searchParams;
        if (answer.get('error'))
          throw new Error(
            `the provider refused: ${answer.get('error')}: ${answer.get('error_description')}`,
          );
        if (answer.get('state') !== state) throw new Error('state mismatch');
        return this.exchange(answer.get('code') ?? '', verifier);
      }
      const response = await this.request(location);
      if (location.includes('/interaction/') && response.status === 200) {
        const page = (await response.json()) as LoginSeen & { uid: string };
        this.shown.push(page);
        const form = new URLSearchParams({
          username: this.user.id,
          password: credentials.password,
        });
        if (credentials.withOtp) form.set('otp', await generate({ secret: this.user.totpSecret }));
        if (credentials.authenticatedAt !== undefined)
          form.set('authenticatedAt', String(credentials.authenticatedAt));
        const submitted = await this.request(location, form);
        location = this.next(submitted, location);
        continue;
      }
      location = this.next(response, location);
    }
    throw new Error('the authorization flow did not finish in 10 redirects');
  }

  private async exchange(code: string, verifier: string): Promise<TokenSet> {
    const response = await fetch(`${this.op.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: this.op.redirectUri,
        client_id: this.op.clientId,
        code_verifier: verifier,
        resource: this.op.api,
      }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await response.json()) as Record<string, unknown>;
    if (
      response.status !== 200 ||
      typeof body.access_token !== 'string' ||
      typeof body.id_token !== 'string'
    )
      throw new Error(`token endpoint: ${response.status} ${JSON.stringify(body)}`);
    return { accessToken: body.access_token, idToken: body.id_token };
  }

  private next(response: Response, from: string): string {
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || location === null)
      throw new Error(`${from}: expected a redirect, got ${response.status}`);
    return new URL(location, from).toString();
  }

  private async request(url: string, form?: URLSearchParams): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0)
      headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(url, {
      method: form ? 'POST' : 'GET',
      headers,
      ...(form ? { body: form.toString() } : {}),
      redirect: 'manual',
      signal: AbortSignal.timeout(10_000),
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = cookie.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const expired = attributes.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    if (response.status >= 400) {
      const text = await response.text();
      throw new Error(`${form ? 'POST' : 'GET'} ${url}: ${response.status} ${text.slice(0, 500)}`);
    }
    return response;
  }
}
