import type { ConsoleOidcSettings } from '@stepgate/policy';
import { StepgateError } from '@stepgate/protocol';
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ActiveConsoleSettingsService } from './active-console-settings.service.js';
import type { ConsoleProviderService } from './console-provider.service.js';
import { ConsoleTokenService, looksLikeJwt } from './console-token.service.js';

const ISSUER = 'https://login.example.com';
const SETTINGS: ConsoleOidcSettings = {
  issuer: ISSUER,
  clientId: 'console',
  scopes: ['openid'],
  subjectClaim: 'sub',
  rolesClaim: 'groups',
  roles: { ops: ['operator'] },
  clockSkew: 0,
};

type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let current: { key: Key; jwk: JWK };
let rotated: { key: Key; jwk: JWK };

async function keyPair(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { key: privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256' } };
}

beforeAll(async () => {
  current = await keyPair('k1');
  rotated = await keyPair('k2');
});

/** The service with the provider's published keys given here: `published` may change. */
function service(settings: ConsoleOidcSettings | null = SETTINGS) {
  const state = { published: [current.jwk], fetches: 0, refetchedForKid: 0 };
  let held: JWTVerifyGetKey | undefined;
  const provider = {
    keys: async (_issuer: string, options: { unknownKid?: boolean } = {}) => {
      // Like the real provider service: the set is kept until a kid is missing from it.
      if (held === undefined || options.unknownKid) {
        state.fetches++;
        if (options.unknownKid) state.refetchedForKid++;
        held = createLocalJWKSet({ keys: state.published }) as JWTVerifyGetKey;
      }
      return held;
    },
  } as unknown as ConsoleProviderService;
  const active = { oidc: async () => settings } as unknown as ActiveConsoleSettingsService;
  return { tokens: new ConsoleTokenService(active, provider), state };
}

async function token(
  claims: JWTPayload = {},
  options: { key?: { key: Key; jwk: JWK }; header?: Record<string, unknown> } = {},
) {
  const signer = options.key ?? current;
  return new SignJWT({ groups: ['ops'], ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: signer.jwk.kid, ...options.header } as never)
    .setIssuer(ISSUER)
    .setAudience('console')
    .setSubject('alice')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(signer.key);
}

/** A token with a hand-written header and no real signature. */
function unsigned(header: Record<string, unknown>, claims: JWTPayload): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part(header)}.${part(claims)}.${Buffer.from('sig').toString('base64url')}`;
}

async function refusal(tokens: ConsoleTokenService, jwt: string): Promise<StepgateError> {
  const error = await tokens.authenticate(jwt).then(
    () => undefined,
    (failure: unknown) => failure,
  );
  if (!(error instanceof StepgateError)) throw new Error(`expected a refusal, got ${error}`);
  return error;
}

const now = () => Math.floor(Date.now() / 1000);

describe('ConsoleTokenService', () => {
  it('makes an OIDC principal of a verified token', async () => {
    const { tokens } = service();
    expect(await tokens.authenticate(await token())).toEqual({
      tokenId: 'oidc:alice',
      name: 'alice',
      subject: 'alice',
      scopes: ['operator'],
      authMethod: 'oidc',
    });
  });

  it('answers undefined while no console issuer is declared (the bearer is an API token)', async () => {
    expect(await service(null).tokens.authenticate(await token())).toBeUndefined();
  });

  it.each([
    ['alg none', { alg: 'none' }, /alg "none" is refused/],
    ['an HMAC', { alg: 'HS256' }, /alg "HS256" is refused/],
    ['an unknown alg', { alg: 'XX1' }, /alg "XX1" is not an accepted/],
  ])('refuses %s before any key is fetched', async (_name, header, message) => {
    const { tokens, state } = service();
    const claims = { iss: ISSUER, aud: 'console', sub: 'a', iat: now(), exp: now() + 60 };
    const error = await refusal(tokens, unsigned(header, claims));
    expect(error.code).toBe('auth/unauthenticated');
    expect(error.message).toMatch(message);
    expect(state.fetches).toBe(0);
  });

  it.each([
    ['not yet valid', { nbf: now() + 600 }, /not valid yet \(nbf\)/],
    ['without iat', { iat: undefined }, /iat claim is missing/],
    [
      'for another client among several audiences',
      { aud: ['console', 'other'], azp: 'other' },
      /issued to another client \(azp\)/,
    ],
    ['for another audience', { aud: 'other' }, /not meant for the console client \(aud\)/],
  ])('refuses a token %s', async (_name, claims, message) => {
    const payload: JWTPayload = {
      iss: ISSUER,
      aud: 'console',
      sub: 'alice',
      groups: ['ops'],
      iat: now(),
      exp: now() + 300,
      ...claims,
    };
    if (payload.iat === undefined) delete payload.iat;
    const jwt = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .sign(current.key);
    const error = await refusal(service().tokens, jwt);
    expect(error.code).toBe('auth/unauthenticated');
    expect(error.message).toMatch(message);
  });

  it('accepts several audiences when azp names the client', async () => {
    const jwt = await token({ aud: ['console', 'other'], azp: 'console' });
    expect((await service().tokens.authenticate(jwt))?.subject).toBe('alice');
  });

  it('fetches the keys again for an unknown kid (a rotation), and refuses a key never published', async () => {
    const { tokens, state } = service();
    expect((await tokens.authenticate(await token()))?.subject).toBe('alice');
    const next = await token({}, { key: rotated });
    state.published = [rotated.jwk, current.jwk];
    expect((await tokens.authenticate(next))?.subject).toBe('alice');
    expect(state.refetchedForKid).toBe(1);
    const stranger = await keyPair('k3');
    const error = await refusal(tokens, await token({}, { key: stranger }));
    expect(error.message).toMatch(/signed by a key the issuer does not publish/);
  });

  it('takes only three dotted base64url segments for a JWT', () => {
    expect(looksLikeJwt('a.b.c')).toBe(true);
    expect(looksLikeJwt('sg_abcdef')).toBe(false);
    expect(looksLikeJwt('a.b')).toBe(false);
    expect(looksLikeJwt('a.b.c.d')).toBe(false);
    expect(looksLikeJwt('a.b+.c')).toBe(false);
    expect(looksLikeJwt(`a.${'b'.repeat(20_000)}.c`)).toBe(false);
  });
});
