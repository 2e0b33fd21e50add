import { exportSPKI, importJWK, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { testIssuer, unsignedToken, type TestIssuer } from '../__support__/issuer.js';
import { DOCS_POLICY, policySet, SETTINGS, signer } from '../__support__/fakes.js';
import { BundleStore } from '../bundle-store.js';
import { DecisionPoint } from '../decision-point.js';
import { TrustStore } from '../trust-store.js';
import { TokenVerificationError, TokenVerifier, type TokenRejection } from './token-verifier.js';

type Signer = Awaited<ReturnType<typeof signer>>;
let key: Signer;
let idp: TestIssuer;
let revision = 0;
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  key = await signer();
  idp = await testIssuer();
});

function settings(issuerYaml: string): string {
  return `${SETTINGS}issuers:\n${issuerYaml}`;
}

/** A store holding a bundle whose stepgate.yaml trusts the local issuer. */
async function storeWith(
  issuerYaml: string,
  issuerKeys?: Record<string, { keys: Record<string, unknown>[] }>,
  store = new BundleStore({ trust: TrustStore.fromJwks(key.jwks) }),
) {
  const set = policySet({ 'stepgate.yaml': settings(issuerYaml), 'docs.yaml': DOCS_POLICY });
  const result = await store.offer(
    'active',
    await key.sign(set, ++revision, issuerKeys ? { issuerKeys } : {}),
  );
  expect(result.applied).toBe(true);
  return store;
}

const inline = () => `  - issuer: ${idp.issuer}
    audience: [other, stepgate]
    jwks: ${JSON.stringify(idp.jwks)}
    claims: { roles: realm_access.roles, groups: groups, attributes: [email, "https://example.com/team"] }
`;

async function verifierWith(issuerYaml = inline()) {
  return new TokenVerifier({ store: await storeWith(issuerYaml) });
}

async function refusal(verifier: TokenVerifier, token: string): Promise<TokenVerificationError> {
  const error = await verifier.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenVerificationError);
  return error as TokenVerificationError;
}

async function expectRefused(
  verifier: TokenVerifier,
  token: string,
  reason: TokenRejection,
  message: RegExp,
) {
  const error = await refusal(verifier, token);
  expect({ reason: error.reason, message: error.message }).toEqual({
    reason,
    message: expect.stringMatching(message),
  });
}

describe('TokenVerifier: accepted tokens', () => {
  it('maps the configured claims to the principal and acr, amr, auth_time to evidence', async () => {
    const verifier = await verifierWith();
    const authTime = now() - 30;
    const verified = await verifier.verify(
      await idp.token({
        sub: 'alice',
        acr: 'urn:stepgate:mfa',
        amr: ['pwd', 'otp', 7],
        auth_time: authTime,
        realm_access: { roles: ['deployer', 'reader'] },
        groups: 'staff',
        email: 'alice@example.com',
        'https://example.com/team': 'payments',
      }),
    );
    expect(verified.principal).toEqual({
      id: 'alice',
      roles: ['deployer', 'reader'],
      groups: ['staff'],
      attributes: { email: 'alice@example.com', team: 'payments' },
    });
    expect(verified.evidence).toEqual({
      acr: 'urn:stepgate:mfa',
      amr: ['pwd', 'otp'],
      authTime: new Date(authTime * 1000),
    });
    expect(verified.issuer.issuer).toBe(idp.issuer);
  });

  it('takes authTime from auth_time only, never from iat', async () => {
    const verifier = await verifierWith();
    const verified = await verifier.verify(await idp.token({ acr: 'urn:stepgate:mfa' }));
    expect(verified.evidence).toEqual({ acr: 'urn:stepgate:mfa' });
  });

  it('uses the keys the control plane shipped in the bundle, rebuilt when the bundle changes', async () => {
    const byUrl = `  - issuer: ${idp.issuer}
    audience: stepgate
    jwksUrl: ${idp.jwksUrl}
`;
    const store = await storeWith(byUrl);
    const verifier = new TokenVerifier({ store });
    const token = await idp.token();
    await expectRefused(verifier, token, 'no_keys', /holds no keys for the token issuer/);
    await storeWith(byUrl, { [idp.issuer]: idp.jwks as never }, store);
    expect((await verifier.verify(token)).principal.id).toBe('alice');
  });
});

describe('TokenVerifier: refused tokens', () => {
  let verifier: TokenVerifier;
  beforeAll(async () => {
    verifier = await verifierWith();
  });

  it('refuses garbage and tokens when no bundle is loaded', async () => {
    await expectRefused(verifier, 'not-a-jwt', 'malformed', /not a well-formed JWT/);
    await expectRefused(verifier, 'a.b.c', 'malformed', /not a well-formed JWT/);
    const empty = new TokenVerifier({ store: { active: undefined } });
    await expectRefused(empty, await idp.token(), 'no_bundle', /no policy bundle is loaded/);
  });

  it('refuses alg none', async () => {
    const token = unsignedToken({
      iss: idp.issuer,
      aud: 'stepgate',
      sub: 'alice',
      exp: now() + 60,
    });
    await expectRefused(verifier, token, 'algorithm', /alg none/);
  });

  it('refuses HS256 signed with the bytes of the public key (key confusion)', async () => {
    const jwk = idp.jwks.keys[0] as Record<string, unknown>;
    const pem = await exportSPKI((await importJWK(jwk, 'ES256', { extractable: true })) as never);
    for (const secret of [JSON.stringify(jwk), pem]) {
      const token = await new SignJWT({ sub: 'alice', aud: 'stepgate', iss: idp.issuer })
        .setProtectedHeader({ alg: 'HS256', kid: 'key-1' })
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(secret));
      await expectRefused(verifier, token, 'algorithm', /HMAC/);
    }
  });

  it('refuses an algorithm the issuer setting does not list', async () => {
    const strict = await verifierWith(`  - issuer: ${idp.issuer}
    audience: stepgate
    algorithms: [RS256]
    jwks: ${JSON.stringify(idp.jwks)}
`);
    await expectRefused(strict, await idp.token(), 'algorithm', /"ES256" is not accepted.*RS256/);
  });

  it('refuses a token signed by a foreign key or an unknown kid', async () => {
    await expectRefused(
      verifier,
      await idp.token({}, { foreignKey: true }),
      'signature',
      /signature does not verify/,
    );
    await expectRefused(
      verifier,
      await idp.token({}, { header: { kid: 'other' } }),
      'signature',
      /unknown kid/,
    );
  });

  it('refuses a wrong audience and an untrusted issuer', async () => {
    await expectRefused(verifier, await idp.token({ aud: 'billing' }), 'audience', /aud/);
    await expectRefused(
      verifier,
      await idp.token({ iss: 'https://evil.example' }),
      'unknown_issuer',
      /issuer "https:\/\/evil.example" is not trusted/,
    );
    await expectRefused(verifier, await idp.token({ iss: undefined }), 'unknown_issuer', /no iss/);
  });

  it('refuses expired tokens and tokens without exp, within the clock skew boundary', async () => {
    await expectRefused(verifier, await idp.token({ exp: now() - 65 }), 'expired', /expired/);
    expect(await verifier.verify(await idp.token({ exp: now() - 55 }))).toBeDefined();
    await expectRefused(verifier, await idp.token({ exp: undefined }), 'expired', /exp/);
  });

  it('refuses tokens not valid yet (nbf) beyond the skew', async () => {
    await expectRefused(
      verifier,
      await idp.token({ nbf: now() + 65 }),
      'not_yet_valid',
      /not valid yet/,
    );
    expect(await verifier.verify(await idp.token({ nbf: now() + 55 }))).toBeDefined();
  });

  it('refuses an auth_time in the future beyond the skew', async () => {
    await expectRefused(
      verifier,
      await idp.token({ auth_time: now() + 65 }),
      'auth_time',
      /future/,
    );
    await expectRefused(
      verifier,
      await idp.token({ auth_time: 'yesterday' }),
      'claims',
      /auth_time/,
    );
    expect(await verifier.verify(await idp.token({ auth_time: now() + 55 }))).toBeDefined();
  });

  it('refuses a token without the principal claim', async () => {
    const byEmail = await verifierWith(`  - issuer: ${idp.issuer}
    audience: stepgate
    jwks: ${JSON.stringify(idp.jwks)}
    claims: { principal: email }
`);
    await expectRefused(byEmail, await idp.token(), 'principal', /no email claim/);
    expect((await byEmail.verify(await idp.token({ email: 'a@x' }))).principal.id).toBe('a@x');
  });
});

describe('TokenVerifier evidence in decisions', () => {
  it('maps acr, amr and auth_time to a level and freshness', async () => {
    const store = await storeWith(inline());
    const verifier = new TokenVerifier({ store });
    const point = new DecisionPoint({ store });
    const secret = {
      principal: { id: 'alice', roles: ['reader'] },
      action: 'docs:read',
      resource: { kind: 'doc', id: 'secret/plan' },
    };
    const decide = async (claims: Record<string, unknown>) => {
      const { evidence } = await verifier.verify(await idp.token(claims));
      const decision = point.decide(secret, evidence);
      return decision.effect === 'step_up' ? decision.unmet : decision.effect;
    };
    const fresh = now() - 60;
    expect(await decide({ acr: 'urn:stepgate:mfa', auth_time: fresh })).toBe('allow');
    expect(await decide({ amr: ['pwd', 'otp'], auth_time: fresh })).toBe('allow');
    expect(await decide({ acr: 'urn:stepgate:pwd', auth_time: fresh })).toEqual(['level']);
    expect(await decide({ acr: 'urn:stepgate:mfa', auth_time: now() - 600 })).toEqual(['maxAge']);
    expect(await decide({ acr: 'urn:stepgate:mfa' })).toEqual(['maxAge']);
  });
});
