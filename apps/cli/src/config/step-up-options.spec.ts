import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  buildCheckInput,
  formatDuration,
  parseContext,
  parseDurationSeconds,
  parseResource,
  parseTotpCode,
} from './step-up-options.js';
import { UsageError } from './usage-error.js';

describe('buildCheckInput', () => {
  it('builds the /v1/check body from the flags, leaving out what is not given', () => {
    // No principal: the control plane decides for the token's (or the ID token's) own.
    expect(buildCheckInput({ action: 'terraform:apply', resource: 'prod/billing' }, {})).toEqual({
      action: 'terraform:apply',
      resource: { kind: 'terraform', id: 'prod/billing' },
    });
    expect(
      buildCheckInput(
        {
          principal: 'bob',
          action: 'deploy',
          resource: 'environment:prod/billing',
          context: ['ticket=OPS-1', 'ip=10.0.0.1'],
        },
        {},
      ),
    ).toEqual({
      principal: { id: 'bob' },
      action: 'deploy',
      resource: { kind: 'environment', id: 'prod/billing' },
      context: { ticket: 'OPS-1', ip: '10.0.0.1' },
    });
  });

  it('takes another principal from STEPGATE_PRINCIPAL, the flag first', () => {
    const flags = { action: 'a', resource: 'r' };
    expect(buildCheckInput(flags, { STEPGATE_PRINCIPAL: 'env' }).principal?.id).toBe('env');
    expect(
      buildCheckInput({ ...flags, principal: 'flag' }, { STEPGATE_PRINCIPAL: 'env' }).principal?.id,
    ).toBe('flag');
  });

  it('refuses --role and --group, saying roles come from the policy data', () => {
    const flags = { action: 'a', resource: 'r' };
    expect(() => buildCheckInput({ ...flags, role: ['deployer'] }, {})).toThrow(
      /--role is no longer accepted: roles and groups come from the policy data \(data\.people/,
    );
    expect(() => buildCheckInput({ ...flags, group: ['sre'] }, {})).toThrow(/--group is no longer/);
  });

  it('names the missing flag', () => {
    expect(() => buildCheckInput({ resource: 'r' }, {})).toThrow(/--action/);
    expect(() => buildCheckInput({ action: 'a' }, {})).toThrow(/--resource/);
  });
});

describe('parseResource', () => {
  it('splits kind:id at the last colon, so kinds may have colons', () => {
    expect(parseResource('k8s:pods:prod/api', undefined, 'k8s:exec')).toEqual({
      kind: 'k8s:pods',
      id: 'prod/api',
    });
    expect(parseResource('terraform:workspace:prod/iam', undefined, 'x')).toEqual({
      kind: 'terraform:workspace',
      id: 'prod/iam',
    });
  });

  it('takes a bare id with the action prefix (or "resource") as kind', () => {
    expect(parseResource('prod/billing', undefined, 'terraform:apply').kind).toBe('terraform');
    expect(parseResource('prod/billing', undefined, 'deploy').kind).toBe('resource');
  });

  it('takes the value verbatim as id with --resource-kind', () => {
    expect(parseResource('arn:aws:s3:::bucket', 'aws', 'read')).toEqual({
      kind: 'aws',
      id: 'arn:aws:s3:::bucket',
    });
  });

  it('refuses an empty kind or id', () => {
    expect(() => parseResource(':x', undefined, 'a')).toThrow(UsageError);
    expect(() => parseResource('x:', undefined, 'a')).toThrow(/--resource-kind/);
    expect(() => parseResource('  ', undefined, 'a')).toThrow(/--resource/);
  });
});

describe('parseContext', () => {
  it('keeps everything after the first = as the value', () => {
    expect(parseContext(['q=a=b', 'empty='])).toEqual({ q: 'a=b', empty: '' });
    expect(parseContext([])).toBeUndefined();
  });

  it('refuses pairs without a key and keys given twice', () => {
    expect(() => parseContext(['novalue'])).toThrow(/key=value/);
    expect(() => parseContext(['=v'])).toThrow(UsageError);
    expect(() => parseContext(['a=1', 'a=2'])).toThrow(/twice/);
  });

  it('keeps __proto__ an ordinary key', () => {
    const context = parseContext(['__proto__=x'])!;
    expect(Object.getPrototypeOf(context)).toBe(Object.prototype);
    expect(JSON.stringify(context)).toBe('{"__proto__":"x"}');
  });
});

describe('durations, approvals and codes', () => {
  it('parses durations to seconds', () => {
    expect(parseDurationSeconds('90s')).toBe(90);
    expect(parseDurationSeconds('10m')).toBe(600);
    expect(parseDurationSeconds('1h30m')).toBe(5400);
    expect(parseDurationSeconds('2d')).toBe(172_800);
    expect(parseDurationSeconds('1.5h')).toBe(5400);
  });

  it('refuses a bare number, naming the grammar', () => {
    expect(() => parseDurationSeconds('45')).toThrow(
      '"45" is not a duration; write e.g. 1h or 3600s',
    );
  });

  it('refuses what is not a positive duration', () => {
    for (const bad of ['', '0', '45', '0m', '10x', '-5m', '500ms', 'm']) {
      expect(() => parseDurationSeconds(bad), bad).toThrow(InvalidArgumentError);
    }
  });

  it('formats durations back', () => {
    expect(formatDuration(90)).toBe('90s');
    expect(formatDuration(900)).toBe('15m');
    expect(formatDuration(5400)).toBe('1h30m');
    expect(formatDuration(7200)).toBe('2h');
  });

  it('accepts six digits, with spaces as authenticator apps show them', () => {
    expect(parseTotpCode('123 456')).toBe('123456');
    expect(parseTotpCode(' 000000\n')).toBe('000000');
    for (const bad of ['12345', '1234567', 'abcdef', '']) {
      expect(() => parseTotpCode(bad), bad).toThrow(/6 digits/);
    }
  });
});
