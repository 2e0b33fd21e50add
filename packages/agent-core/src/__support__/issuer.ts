import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

/**
 * An OIDC-style token issuer for unit tests (no server: the JWKS goes inline into the bundle
 * or its issuerKeys). The integration suites use test/support/local-issuer.ts, which serves it.
 */
export interface TestIssuer {
  issuer: string;
  jwksUrl: string;
  jwks: { keys: JWK[] };
  /** Signs a token; `claims` override iss, aud (stepgate), sub (alice), iat, exp (+10 min). */
  token(
    claims?: Record<string, unknown>,
    options?: { foreignKey?: boolean; header?: Record<string, unknown> },
  ): Promise<string>;
}

export async function testIssuer(issuer = 'https://login.example.com/'): Promise<TestIssuer> {
  const key = await newKey();
  const foreign = await newKey();
  return {
    issuer,
    jwksUrl: `${issuer}jwks`,
    jwks: { keys: [key.publicJwk] },
    async token(claims = {}, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      const signing = options.foreignKey ? foreign : key;
      return new SignJWT({
        iss: issuer,
        aud: 'stepgate',
        sub: 'alice',
        iat: now,
        exp: now + 600,
        ...claims,
      })
        .setProtectedHeader({ alg: 'ES256', kid: 'key-1', typ: 'JWT', ...options.header })
        .sign(signing.privateKey);
    },
  };
}

async function newKey(): Promise<{ privateKey: CryptoKey; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return {
    privateKey,
    publicJwk: { ...(await exportJWK(publicKey)), kid: 'key-1', alg: 'ES256', use: 'sig' },
  };
}

/** An unsigned token (`alg: none`). */
export function unsignedToken(claims: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`;
}
