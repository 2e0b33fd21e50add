import { describe, expect, it } from 'vitest';
import { parseDecisionRequest } from './decision-request.js';
import { StepgateError } from './errors.js';

const body = {
  principal: { id: 'alice', roles: ['dev'] },
  action: 'read',
  resource: { kind: 'doc', id: 'd1' },
  auth: { ignored: true },
};

describe('parseDecisionRequest', () => {
  it('returns a fresh input without auth, and refuses an unknown field by name', () => {
    const input = parseDecisionRequest(body);
    expect(input).not.toBe(body);
    expect(input).toEqual({
      principal: { id: 'alice', roles: ['dev'] },
      action: 'read',
      resource: { kind: 'doc', id: 'd1' },
    });
    expect(() => parseDecisionRequest({ ...body, acton: 'x' })).toThrow(/acton/);
  });

  it('hands back an input it built as it is: a decision point after an edge parses once', () => {
    const input = parseDecisionRequest(body);
    expect(parseDecisionRequest(input)).toBe(input);
  });

  it('still checks an equal object it did not build', () => {
    const input = parseDecisionRequest(body);
    const copy = structuredClone(input);
    expect(parseDecisionRequest(copy)).not.toBe(copy);
    const tooLong = { ...copy, principal: { id: 'x'.repeat(100_000) } };
    expect(() => parseDecisionRequest(tooLong)).toThrow(StepgateError);
  });
});
