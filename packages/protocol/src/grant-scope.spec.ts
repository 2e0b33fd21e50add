import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { GRANT_SCOPE_LIMITS, grantPatternProblem, grantPatternsSchema } from './grant-scope.js';
import { grantClaimsSchema } from './grants.js';
import {
  checkRequestSchema,
  createApprovalRequestSchema,
  grantScopeSchema,
} from './step-up-api.js';

const issues = (schema: z.ZodType, value: unknown) => {
  const result = schema.safeParse(value);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('grant scope limits', () => {
  it('accepts the scopes people ask for', () => {
    expect(
      issues(grantScopeSchema, {
        actions: ['k8s:{create,update,patch,delete}:{configmaps,secrets}', 'deploy'],
        resources: ['prod/**', 'prod-*/**', 'ns/*/pods/?'],
      }),
    ).toEqual([]);
    // A literal pattern may be as long as the request field it has to equal (approvals).
    expect(grantPatternProblem('r'.repeat(4096), 'resources')).toBeUndefined();
    expect(grantPatternProblem('a'.repeat(512), 'actions')).toBeUndefined();
  });

  it("refuses the issue's four 510-character **a**a…b globs, naming the pattern and the limit", () => {
    const evil = `${'**a'.repeat(169)}**b`;
    expect(issues(grantScopeSchema, { resources: Array(4).fill(evil) })).toEqual(
      [0, 1, 2, 3].map(
        (i) =>
          `resources.${i}: a pattern with glob syntax is 510 characters long; the limit is 128`,
      ),
    );
  });

  it('refuses too many patterns, wildcard runs, alternatives, long literals and bad globs', () => {
    const schema = grantPatternsSchema('actions');
    expect(
      issues(
        schema,
        Array.from({ length: 17 }, (_, i) => `a${i}`),
      ),
    ).toEqual([': at most 16 patterns per grant']);
    expect(issues(schema, ['*a'.repeat(17)])).toEqual([
      '0: a pattern has 17 runs of * or **; the limit is 16',
    ]);
    expect(issues(schema, ['{a,b,c,d}{a,b,c,d}', '{a,b,c,d}{x,y,z,w}', 'x'])).toEqual([
      ': the patterns expand to 33 brace alternatives; the limit is 32',
    ]);
    expect(issues(schema, ['a'.repeat(513)])).toEqual([
      '0: a pattern is 513 characters long; the limit is 512 (the longest action a request may carry)',
    ]);
    expect(issues(schema, ['k8s:{a,{b}}'])).toEqual([
      '0: "k8s:{a,{b}}" is not a glob: nested "{" in glob at offset 7; use *, **, ? and {a,b} without nesting',
    ]);
    expect(GRANT_SCOPE_LIMITS).toEqual({
      patterns: 16,
      globLength: 128,
      wildcardRuns: 16,
      alternatives: 32,
    });
  });

  it('applies to signed grant claims too, so an agent refuses a grant past the limits', () => {
    const claims = {
      format: 'stepgate.grant/v1',
      id: '0b0c3f38-4d1a-4c36-9f0e-2f1f6f7e9a11',
      subject: 'mallory',
      kind: 'elevation',
      amr: ['otp'],
      authTime: '2026-12-01T10:00:00Z',
      approvals: [],
      actions: ['**'],
      resources: ['prod/**'],
      issuedAt: '2026-12-01T10:00:00Z',
      expiresAt: '2026-12-01T11:00:00Z',
    };
    expect(grantClaimsSchema.safeParse(claims).success).toBe(true);
    expect(
      grantClaimsSchema.safeParse({ ...claims, resources: [`${'**a'.repeat(169)}**b`] }).success,
    ).toBe(false);
  });
});

describe('request limits on the control plane', () => {
  it('/v1/check refuses what agents refuse, in their words', () => {
    const request = {
      principal: { id: 'alice' },
      action: 'deploy',
      resource: { kind: 'service', id: 'r'.repeat(4097) },
    };
    expect(issues(checkRequestSchema, request)).toEqual([
      ': resource.id is 4097 characters long; the limit is 4096',
    ]);
    expect(
      issues(checkRequestSchema, { ...request, resource: { kind: 'service', id: 'prod/api' } }),
    ).toEqual([]);
    expect(
      issues(checkRequestSchema, {
        ...request,
        resource: { kind: 'service', id: 'prod/api' },
        context: { blob: 'x'.repeat(70_000) },
      }),
    ).toEqual([
      ': context is larger than the limit of 65536 characters (counted as its JSON size)',
    ]);
  });

  it('approval requests take an action and a resource id a request can carry', () => {
    const body = {
      action: 'a'.repeat(512),
      resource: { kind: 'service', id: 'r'.repeat(4096) },
      reason: 'release',
    };
    expect(issues(createApprovalRequestSchema, body)).toEqual([]);
    expect(
      issues(createApprovalRequestSchema, {
        ...body,
        resource: { kind: 's', id: 'r'.repeat(4097) },
      }),
    ).toHaveLength(1);
    // What the policies will see is bounded as every decision request is.
    expect(
      issues(createApprovalRequestSchema, { ...body, context: { b: 'x'.repeat(70_000) } }),
    ).toEqual([
      ': context is larger than the limit of 65536 characters (counted as its JSON size)',
    ]);
    // actionAttributes, which the policies see too (a condition such as actionAttributes.soft).
    expect(
      issues(createApprovalRequestSchema, { ...body, actionAttributes: { soft: true } }),
    ).toEqual([]);
    expect(
      issues(createApprovalRequestSchema, { ...body, actionAttributes: { b: 'x'.repeat(70_000) } }),
    ).toEqual([
      ': actionAttributes is larger than the limit of 65536 characters (counted as its JSON size)',
    ]);
  });
});
