import { describe, expect, it } from 'vitest';
import type { Level } from '@stepgate/policy';
import { acrValuesFor, describeRequirement, stepUpChallenge } from './challenge.js';

const LEVELS: Level[] = [
  { name: 'pwd', acr: ['urn:stepgate:pwd'], amr: [] },
  { name: 'mfa', acr: ['urn:stepgate:mfa', 'urn:other:mfa'], amr: ['otp'] },
  { name: 'hwk', acr: [], amr: ['hwk'] },
  { name: 'phr', acr: ['urn:stepgate:phr'], amr: [] },
];

describe('stepUpChallenge (RFC 9470)', () => {
  it('asks for acr_values when only the level is missing', () => {
    const challenge = stepUpChallenge({ level: 'mfa' }, LEVELS);
    expect(challenge.header).toBe(
      'Bearer error="insufficient_user_authentication", error_description="Step-up required: authenticate with mfa.", acr_values="urn:stepgate:mfa urn:other:mfa"',
    );
    expect(challenge).toMatchObject({ acrValues: 'urn:stepgate:mfa urn:other:mfa' });
    expect(challenge.maxAge).toBeUndefined();
  });

  it('asks for max_age when only freshness is missing', () => {
    const challenge = stepUpChallenge({ maxAge: 300 }, LEVELS);
    expect(challenge.header).toBe(
      'Bearer error="insufficient_user_authentication", error_description="Step-up required: authenticate again (last authentication must be within 5m).", max_age=300',
    );
    expect(challenge.acrValues).toBeUndefined();
  });

  it('asks for both when both are missing', () => {
    const { header } = stepUpChallenge({ level: 'phr', maxAge: 90 }, LEVELS, {
      message: 'Deploys need a hardware key.',
    });
    expect(header).toBe(
      'Bearer error="insufficient_user_authentication", error_description="Deploys need a hardware key.", acr_values="urn:stepgate:phr", max_age=90',
    );
  });

  it('carries only the description for an approvals-only gap', () => {
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
});
