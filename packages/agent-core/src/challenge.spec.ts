import { describe, expect, it } from 'vitest';
import { compile, PolicyEngine, type Level } from '@stepgate/policy';
import { acrValuesFor, describeRequirement, stepUpChallenge } from './challenge.js';
import { httpOutcome } from './http-mapping.js';

const LEVELS: Level[] = [
  { name: 'pwd', acr: ['urn:stepgate:pwd'], amr: [] },
  { name: 'mfa', acr: ['urn:stepgate:mfa', 'urn:other:mfa'], amr: ['otp'] },
  { name: 'hwk', acr: [], amr: ['hwk'] },
  { name: 'phr', acr: ['urn:stepgate:phr'], amr: [] },
];

describe('stepUpChallenge (RFC 9470)', () => {
  it('asks for acr_values when the requirement is a level alone', () => {
    const challenge = stepUpChallenge({ level: 'mfa' }, LEVELS);
    expect(challenge.header).toBe(
      'Bearer error="insufficient_user_authentication", error_description="Step-up required: authenticate with mfa.", acr_values="urn:stepgate:mfa urn:other:mfa"',
    );
    expect(challenge).toMatchObject({ acrValues: 'urn:stepgate:mfa urn:other:mfa' });
    expect(challenge.maxAge).toBeUndefined();
  });

  it('asks for max_age when the requirement is freshness alone', () => {
    const challenge = stepUpChallenge({ maxAge: 300 }, LEVELS);
    expect(challenge.header).toBe(
      'Bearer error="insufficient_user_authentication", error_description="Step-up required: authenticate again (last authentication must be within 5m).", max_age=300',
    );
    expect(challenge.acrValues).toBeUndefined();
  });

  it('asks for both when the requirement names both', () => {
    const { header } = stepUpChallenge({ level: 'phr', maxAge: 90 }, LEVELS, {
      message: 'Deploys need a hardware key.',
    });
    expect(header).toBe(
      'Bearer error="insufficient_user_authentication", error_description="Deploys need a hardware key.", acr_values="urn:stepgate:phr", max_age=90',
    );
  });

  it('carries only the description for a requirement of approvals alone', () => {
    const challenge = stepUpChallenge({ approvals: 2 }, LEVELS);
    expect(challenge.header).toBe(
      'Bearer error="insufficient_user_authentication", error_description="Step-up required: 2 approvals from other people."',
    );
    expect(challenge.approvals).toBe(2);
  });

  it('falls back to the next stronger level with acr values, and omits them for unknown levels', () => {
    expect(acrValuesFor('hwk', LEVELS)).toEqual(['urn:stepgate:phr']);
    expect(acrValuesFor('nope', LEVELS)).toEqual([]);
    expect(stepUpChallenge({ level: 'nope', maxAge: 60 }, LEVELS).header).not.toContain(
      'acr_values',
    );
  });

  it('keeps the header valid whatever the message holds', () => {
    const { header } = stepUpChallenge({ level: 'mfa' }, LEVELS, {
      message: 'Say "please" \\ or else — ünïcode\r\nInjected: yes',
    });
    expect(header).toContain('error_description="Say \\"please\\" \\\\ or else ');
    expect(header).not.toMatch(/[^\x20-\x7e]/);
  });
});

describe('stepUpChallenge (insufficient_claims)', () => {
  it('encodes the acr request as an OIDC claims request', () => {
    const challenge = stepUpChallenge({ level: 'mfa', maxAge: 600 }, LEVELS, {
      style: 'insufficient_claims',
    });
    const claims = /claims="([^"]+)"/.exec(challenge.header)?.[1] ?? '';
    expect(JSON.parse(atob(claims))).toEqual({
      access_token: {
        acr: { essential: true, values: ['urn:stepgate:mfa', 'urn:other:mfa'] },
        auth_time: { essential: true },
      },
    });
    expect(challenge.header).toMatch(
      /^Bearer error="insufficient_claims", error_description="[^"]+", claims="[^"]+", max_age=600$/,
    );
  });
});

describe('describeRequirement', () => {
  it('describes each part', () => {
    expect(describeRequirement({ level: 'mfa', maxAge: 1800, approvals: 1 })).toBe(
      'Step-up required: authenticate with mfa within the last 30m; 1 approval from other people.',
    );
    expect(describeRequirement({})).toBe('Step-up authentication is required.');
  });

  it('with the unmet parts, names the whole login when any of it is unmet, and approvals only when unmet', () => {
    const require = { level: 'mfa', maxAge: 900, approvals: 1 };
    expect(describeRequirement(require, ['maxAge'])).toBe(
      'Step-up required: authenticate with mfa within the last 15m.',
    );
    expect(describeRequirement(require, ['approvals'])).toBe(
      'Step-up required: 1 approval from other people.',
    );
    expect(describeRequirement(require, ['level', 'approvals'])).toBe(
      'Step-up required: authenticate with mfa within the last 15m; 1 approval from other people.',
    );
  });

  it('keeps acr_values and max_age in the header when only approvals are unmet', () => {
    const challenge = stepUpChallenge({ level: 'mfa', maxAge: 900, approvals: 1 }, LEVELS, {
      unmet: ['approvals'],
    });
    expect(challenge.header).toBe(
      'Bearer error="insufficient_user_authentication", error_description="Step-up required: 1 approval from other people.", acr_values="urn:stepgate:mfa urn:other:mfa", max_age=900',
    );
  });
});

describe('the challenge of a stale MFA session', () => {
  const settings = `apiVersion: stepgate/v1
kind: Settings
defaultEffect: deny
levels:
  - { name: pwd, acr: ["urn:stepgate:pwd"] }
  - { name: mfa, acr: ["urn:stepgate:mfa"], amr: ["otp"] }
`;
  const rules = `apiVersion: stepgate/v1
kind: Policy
name: deploys
rules:
  - { name: allow, effect: allow }
  - { name: fresh-mfa, effect: step_up, require: { level: mfa, maxAge: 15m } }
`;
  const result = compile([
    { path: 'stepgate.yaml', content: settings },
    { path: 'deploys.yaml', content: rules },
  ]);
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  const engine = new PolicyEngine(result.policySet);
  const now = new Date('2026-11-23T10:00:00Z');
  // MFA 20 minutes ago: the level is met, the freshness is not.
  const decision = engine.decide(
    { principal: { id: 'alice' }, action: 'deploy', resource: { kind: 'env', id: 'prod' } },
    { acr: 'urn:stepgate:mfa', authTime: new Date(now.getTime() - 20 * 60_000) },
    { now },
  );

  it('asks for the acr values and max_age (RFC 9470), so one login meets it', () => {
    const outcome = httpOutcome(decision, result.policySet.settings.levels);
    expect(outcome.status).toBe(401);
    expect(outcome.headers['www-authenticate']).toBe(
      'Bearer error="insufficient_user_authentication", error_description="Step-up required: authenticate with mfa within the last 15m.", acr_values="urn:stepgate:mfa", max_age=900',
    );
    expect(outcome.body).toMatchObject({
      require: { level: 'mfa', maxAge: 900 },
      unmet: ['maxAge'],
      acr_values: 'urn:stepgate:mfa',
      max_age: 900,
    });
  });

  it('asks for the acr claim and max_age (insufficient_claims)', () => {
    const header =
      httpOutcome(decision, result.policySet.settings.levels, 'insufficient_claims').headers[
        'www-authenticate'
      ] ?? '';
    const claims = /claims="([^"]+)"/.exec(header)?.[1] ?? '';
    expect(JSON.parse(atob(claims))).toEqual({
      access_token: {
        acr: { essential: true, values: ['urn:stepgate:mfa'] },
        auth_time: { essential: true },
      },
    });
    expect(header).toMatch(/, max_age=900$/);
  });
});
