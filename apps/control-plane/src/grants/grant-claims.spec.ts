import { globMatch } from '@stepgate/policy';
import {
  generateSigningKey,
  importSigningKey,
  signGrant,
  toJwks,
  verifyGrant,
} from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';
import {
  buildGrantClaims,
  grantCovers,
  grantLifetime,
  signedResourceKind,
  hasGlobSyntax,
  isInForce,
  toEvidence,
  type GrantRow,
} from './grant-claims.js';

const limits = { defaultSeconds: 900, maxSeconds: 3600 };
const now = new Date('2026-11-23T10:00:00.000Z');
const base = {
  id: '2b0c7c36-4a5e-4f43-9a43-6a1f6a3c1d11',
  subject: 'alice',
  kind: 'elevation' as const,
  amr: ['otp'],
  authTime: now,
  approvals: [],
};

function row(overrides: Partial<GrantRow> = {}): GrantRow {
  return {
    id: base.id,
    subject: 'alice',
    kind: 'elevation',
    method: 'totp',
    amr: ['otp'],
    level: 'mfa',
    authTime: now,
    approvals: [],
    actions: ['**'],
    resources: ['**'],
    jws: 'x.y.z',
    issuedAt: now,
    expiresAt: new Date(now.getTime() + 900_000),
    revokedAt: null,
    ...overrides,
  };
}

describe('grant lifetime', () => {
  it('uses the default when none is asked for and caps what is asked for', () => {
    expect(grantLifetime(undefined, limits)).toBe(900);
    expect(grantLifetime(120, limits)).toBe(120);
    expect(grantLifetime(86_400, limits)).toBe(3600);
  });

  it('refuses a non-positive lifetime', () => {
    expect(() => grantLifetime(0, limits)).toThrow(/positive/);
  });
});

describe('buildGrantClaims', () => {
  it('defaults to a scope that matches every action and resource id, slashes included', () => {
    const claims = buildGrantClaims(base, now, limits);
    expect(claims.issuedAt).toBe('2026-11-23T10:00:00.000Z');
    expect(claims.expiresAt).toBe('2026-11-23T10:15:00.000Z');
    for (const action of ['deploy', 'k8s:create:pods/exec', 'terraform:apply'])
      expect(claims.actions.some((glob) => globMatch(action, glob))).toBe(true);
    for (const resource of ['prod/billing', 'a/b/c/d', 'x'])
      expect(claims.resources.some((glob) => globMatch(resource, glob))).toBe(true);
    // The reason the default is `**`: a single `*` stops at the first slash.
    expect(globMatch('prod/billing', '*')).toBe(false);
  });

  it('carries the resource kind it is given, and none otherwise', () => {
    expect(buildGrantClaims({ ...base, resourceKind: 'environment' }, now, limits)).toMatchObject({
      resourceKind: 'environment',
    });
    expect(buildGrantClaims(base, now, limits)).not.toHaveProperty('resourceKind');
  });

  it('keeps the asked scope, the level and caps the ttl', () => {
    const claims = buildGrantClaims(
      { ...base, level: 'mfa', actions: ['deploy'], resources: ['prod/*'], ttlSeconds: 99_999 },
      now,
      limits,
    );
    expect(claims).toMatchObject({ level: 'mfa', actions: ['deploy'], resources: ['prod/*'] });
    expect(Date.parse(claims.expiresAt) - now.getTime()).toBe(3600_000);
  });

  it('refuses a glob agents could not compile, naming the field', () => {
    expect(() => buildGrantClaims({ ...base, resources: ['prod/{a,{b}}'] }, now, limits)).toThrow(
      /grant resources: .*nested/,
    );
  });

  it('produces claims that sign and verify with the bundle key format', async () => {
    const generated = await generateSigningKey();
    const key = await importSigningKey(JSON.stringify(generated.privateJwk));
    const claims = buildGrantClaims(base, now, limits);
    const jws = await signGrant(claims, key);
    const verified = await verifyGrant(jws, toJwks([{ ...key.publicJwk, kid: key.kid }]));
    expect(verified).toEqual(claims);
  });
});

/** A JWS whose payload is `claims` (signature irrelevant: matching reads the stored claims). */
function jwsOf(claims: Record<string, unknown>): string {
  return `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
}

describe('grant matching and evidence', () => {
  const env = (id: string) => ({ kind: 'environment', id });

  it('covers only actions and resource ids its globs match', () => {
    const scoped = row({ actions: ['deploy'], resources: ['prod/billing'] });
    expect(grantCovers(scoped, 'deploy', env('prod/billing'))).toBe(true);
    expect(grantCovers(scoped, 'deploy', env('prod/payments'))).toBe(false);
    expect(grantCovers(scoped, 'terraform:apply', env('prod/billing'))).toBe(false);
    expect(
      grantCovers(row(), 'k8s:create:pods/exec', { kind: 'k8s:pods', id: 'prod/ns/pod' }),
    ).toBe(true);
  });

  it('covers only the resource kind it was approved for; an approval grant without one, none', () => {
    const approval = (claims: Record<string, unknown>) =>
      row({
        kind: 'approval',
        actions: ['deploy'],
        resources: ['prod/billing'],
        jws: jwsOf(claims),
      });
    const forEnvironment = approval({ resourceKind: 'environment' });
    expect(grantCovers(forEnvironment, 'deploy', env('prod/billing'))).toBe(true);
    expect(grantCovers(forEnvironment, 'deploy', { kind: 'database', id: 'prod/billing' })).toBe(
      false,
    );
    // Signed before kinds were: refused rather than stretched to every kind.
    expect(grantCovers(approval({}), 'deploy', env('prod/billing'))).toBe(false);
    // Elevation grants are globs over actions and ids, for every kind.
    expect(grantCovers(row({ jws: jwsOf({}) }), 'deploy', { kind: 'any', id: 'x' })).toBe(true);
  });

  it('reads the resource kind from the signed claims, and nothing from a malformed JWS', () => {
    expect(signedResourceKind(jwsOf({ resourceKind: 'environment' }))).toBe('environment');
    expect(signedResourceKind(jwsOf({ resourceKind: 42 }))).toBeUndefined();
    expect(signedResourceKind('x.y.z')).toBeUndefined();
    expect(signedResourceKind('nodots')).toBeUndefined();
  });

  it('treats a stored glob that does not compile as matching nothing', () => {
    expect(grantCovers(row({ resources: ['{a'] }), 'deploy', env('{a'))).toBe(false);
  });

  it('is in force until it expires or is revoked', () => {
    expect(isInForce(row(), now)).toBe(true);
    expect(isInForce(row(), new Date(now.getTime() + 900_000))).toBe(false);
    expect(isInForce(row({ revokedAt: now }), now)).toBe(false);
  });

  it('turns into evidence with the grant id, level, amr, auth time and approvals', () => {
    expect(toEvidence(row({ approvals: ['bob'] }))).toEqual({
      amr: ['otp'],
      level: 'mfa',
      authTime: now.toISOString(),
      approvals: ['bob'],
      grants: [base.id],
    });
    expect(toEvidence(row({ level: null }))).not.toHaveProperty('level');
  });

  it('lends an approval grant only its approvers, never an authentication time', () => {
    const evidence = toEvidence(
      row({ kind: 'approval', method: 'approval', amr: [], level: null, approvals: ['bob'] }),
    );
    expect(evidence).not.toHaveProperty('authTime');
    expect(evidence.approvals).toEqual(['bob']);
  });

  it('spots glob syntax in literals', () => {
    expect(hasGlobSyntax('prod/billing')).toBe(false);
    for (const value of ['prod/*', 'a?', '{a,b}', 'x}']) expect(hasGlobSyntax(value)).toBe(true);
  });
});
