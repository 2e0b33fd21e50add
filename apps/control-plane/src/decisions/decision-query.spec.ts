import { StepgateError, decisionsQuerySchema } from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../common/keyset-cursor.js';
import { decisionWhere, ruleMatch, textFilter, timeWindow } from './decision-query.js';

describe('textFilter', () => {
  it('is exact unless the value ends in *', () => {
    expect(textFilter('alice')).toBe('alice');
    expect(textFilter('k8s:*')).toEqual({ startsWith: 'k8s:' });
  });
});

describe('ruleMatch', () => {
  it('splits at the first slash; <policy>/* is any rule of the policy', () => {
    expect(ruleMatch('docs/read')).toEqual({ policy: 'docs', rule: 'read' });
    expect(ruleMatch('(agent)/fail_closed/no_bundle')).toEqual({
      policy: '(agent)',
      rule: 'fail_closed/no_bundle',
    });
    expect(ruleMatch('docs/*')).toEqual({ policy: 'docs' });
  });

  it('the query refuses a rule without a policy and other prefixes', () => {
    for (const rule of ['read', '/read', 'docs/', 'docs/re*', 'do*'])
      expect(decisionsQuerySchema.safeParse({ rule }).success, rule).toBe(false);
    expect(decisionsQuerySchema.safeParse({ rule: 'docs/*' }).success).toBe(true);
  });
});

describe('cursor', () => {
  it('round-trips and rejects anything else as a 400', () => {
    const cursor = { at: new Date('2026-11-23T10:00:00.123Z'), id: 'd-1' };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
    for (const bad of [
      'x',
      Buffer.from('[1,2]').toString('base64url'),
      Buffer.from('["no date","x"]').toString('base64url'),
    ]) {
      expect(() => decodeCursor(bad)).toThrow(StepgateError);
    }
  });
});

describe('decisionWhere', () => {
  it('combines every filter with the keyset position', () => {
    const at = new Date('2026-11-23T10:00:00.000Z');
    const query = decisionsQuerySchema.parse({
      from: '2026-11-23T00:00:00Z',
      principal: 'ali*',
      effect: 'deny',
      revision: '4',
      agent: 'web-1',
      cursor: encodeCursor({ at, id: 'd-9' }),
    });
    expect(decisionWhere(query)).toEqual({
      AND: [
        { at: { gte: new Date('2026-11-23T00:00:00Z') } },
        { principal: { startsWith: 'ali' } },
        { effect: 'deny' },
        { revision: 4 },
        { agentId: 'web-1' },
        { OR: [{ at: { lt: at } }, { at, id: { lt: 'd-9' } }] },
      ],
    });
    expect(decisionWhere(decisionsQuerySchema.parse({}))).toEqual({});
  });
});

describe('timeWindow', () => {
  it('defaults to the 24 hours before now (or before "to")', () => {
    const now = new Date('2026-11-23T12:00:00Z');
    expect(timeWindow({}, now)).toEqual({ from: new Date('2026-11-22T12:00:00Z'), to: now });
    expect(timeWindow({ to: '2026-11-20T00:00:00Z' }, now).from).toEqual(
      new Date('2026-11-19T00:00:00Z'),
    );
    expect(() => timeWindow({ from: '2026-11-24T00:00:00Z' }, now)).toThrow(StepgateError);
  });
});
