import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';

/**
 * A real OIDC-style token issuer for tests: keys generated in the test, the JWKS served on
 * loopback over HTTP (as an IdP's `jwks_uri` would be), tokens minted on demand.
 */
export interface LocalIssuer {
  /** `iss` of its tokens: its base URL. */
  issuer: string;
  jwksUrl: string;
  jwks: { keys: JWK[] };
  /** Signs a token; `claims` override the defaults (iss, aud, sub, iat, exp in 10 minutes). */
  token(claims?: JWTPayload & Record<string, unknown>, options?: TokenOptions): Promise<string>;
  /** Replaces the signing key (the old one leaves the JWKS), like an IdP key rotation. */
  rotate(): Promise<void>;
  /** How many times the JWKS was fetched. */
  fetches(): number;
  close(): Promise<void>;
}

export interface TokenOptions {
  /** Sign with a key that is not in the JWKS. */
  foreignKey?: boolean;
  /** Header overrides, e.g. `{ kid: 'other' }`. */
  header?: Record<string, unknown>;
}

export async function startLocalIssuer(
  options: { audience?: string; alg?: 'RS256' | 'ES256' } = {},
): Promise<LocalIssuer> {
  const alg = options.alg ?? 'ES256';
  const audience = options.audience ?? 'stepgate-tests';
  let current = await newKey(alg, 'key-1');
  let generation = 1;
  let fetches = 0;
  const jwks = { keys: [current.publicJwk] };
  const server: Server = createServer((req, res) => {
    if (req.url === '/.well-known/jwks.json') {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(jwks));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const foreign = await newKey(alg, 'key-1');

  return {
    issuer: base,
    jwksUrl: `${base}/.well-known/jwks.json`,
    jwks,
    async token(claims = {}, tokenOptions = {}) {
      const key = tokenOptions.foreignKey ? foreign : current;
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({
        iss: base,
        aud: audience,
        sub: 'alice',
        iat: now,
        exp: now + 600,
        ...claims,
      })
        .setProtectedHeader({ alg, kid: key.kid, typ: 'JWT', ...tokenOptions.header })
        .sign(key.privateKey);
    },
    async rotate() {
      generation++;
      current = await newKey(alg, `key-${generation}`);
      jwks.keys = [current.publicJwk];
    },
    fetches: () => fetches,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function newKey(
  alg: string,
  kid: string,
): Promise<{ kid: string; privateKey: CryptoKey; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, privateKey, publicJwk };
}

/** An unsigned token (`alg: none`), which every verifier must refuse. */
export function unsignedToken(claims: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`;
}
