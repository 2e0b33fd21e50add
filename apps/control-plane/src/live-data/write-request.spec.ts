import { StepgateError } from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';
import { bodyOf, reasonOf, validationDetails } from './write-request.js';

const refusal = (run: () => unknown): StepgateError => {
  try {
    run();
  } catch (error) {
    if (error instanceof StepgateError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
};

describe('reasonOf', () => {
  it('takes the header trimmed, decoding percent-encoded UTF-8', () => {
    expect(reasonOf({ headers: { 'x-stepgate-reason': '  ticket 4711 ' } })).toBe('ticket 4711');
    expect(reasonOf({ headers: { 'x-stepgate-reason': 'caf%C3%A9%20closed' } })).toBe(
      'café closed',
    );
    // A lone "%" is not an escape: the text is taken as sent.
    expect(reasonOf({ headers: { 'x-stepgate-reason': 'raise to 100%' } })).toBe('raise to 100%');
  });

  it('refuses a missing, blank or overlong reason, naming the header', () => {
    for (const headers of [{}, { 'x-stepgate-reason': '   ' }]) {
      const error = refusal(() => reasonOf({ headers }));
      expect(error.code).toBe('request/invalid');
      expect(error.message).toContain('X-Stepgate-Reason');
    }
    const long = refusal(() => reasonOf({ headers: { 'x-stepgate-reason': 'x'.repeat(1001) } }));
    expect(long.message).toContain('longer than 1000');
  });
});

describe('bodyOf', () => {
  it('takes any JSON value, null and false included', () => {
    const json = { 'content-type': 'application/json; charset=utf-8' };
    expect(bodyOf({ headers: json, body: null }, 'put')).toBeNull();
    expect(bodyOf({ headers: json, body: false }, 'put')).toBe(false);
    const patch = { 'content-type': 'application/merge-patch+json' };
    expect(bodyOf({ headers: patch, body: { a: null } }, 'patch')).toEqual({ a: null });
  });

  it('refuses another content type with 415 and a missing body with 400', () => {
    const wrong = refusal(() =>
      bodyOf({ headers: { 'content-type': 'application/merge-patch+json' }, body: {} }, 'put'),
    );
    expect(wrong.status).toBe(415);
    expect(wrong.message).toContain('application/json');
    const text = refusal(() => bodyOf({ headers: { 'content-type': 'text/plain' } }, 'patch'));
    expect(text.status).toBe(415);
    const missing = refusal(() =>
      bodyOf({ headers: { 'content-type': 'application/json' } }, 'put'),
    );
    expect(missing.status).toBeUndefined();
    expect(missing.message).toContain('the body is missing');
  });
});

describe('validationDetails', () => {
  it("splits the validator's messages into path and message, the root as an empty path", () => {
    expect(
      validationDetails(['/1: must be string', '(root): must be array', 'and 3 more']),
    ).toEqual([
      { path: '/1', message: 'must be string' },
      { path: '', message: 'must be array' },
      { path: '', message: 'and 3 more' },
    ]);
  });
});
