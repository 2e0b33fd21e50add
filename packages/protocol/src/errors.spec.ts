import { describe, expect, it } from 'vitest';

import { ERROR_CODES, ERROR_STATUS, StepgateError, errorBody, isErrorCode } from './errors.js';
import type { ErrorCode } from './errors.js';

/** The contract the HTTP filter and API clients rely on. */
const EXPECTED_STATUS: Partial<Record<ErrorCode, number>> = {
  'request/invalid': 400,
  'auth/unauthenticated': 401,
  'auth/forbidden': 403,
  'version/not_found': 404,
  'source/not_found': 404,
  'token/not_found': 404,
  'bundle/not_found': 404,
  'version/not_ready': 409,
  'version/conflict': 409,
  'bundle/invalid': 400,
  'bundle/too_large': 413,
  'webhook/bad_signature': 401,
  'webhook/replayed': 409,
  'service/unavailable': 503,
  internal: 500,
};

describe('ERROR_STATUS', () => {
  it('covers every code, and nothing else', () => {
    expect(Object.keys(ERROR_STATUS).sort()).toEqual([...ERROR_CODES].sort());
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
  });

  it('maps every code to a 4xx/5xx status', () => {
    for (const code of ERROR_CODES) {
      const status = ERROR_STATUS[code];
      expect(Number.isInteger(status), code).toBe(true);
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(status, code).toBeLessThan(600);
    }
  });

  it('gives the documented statuses', () => {
    for (const [code, status] of Object.entries(EXPECTED_STATUS)) {
      expect(ERROR_STATUS[code as ErrorCode], code).toBe(status);
    }
  });

  it('namespaces codes as area/what (except internal)', () => {
    for (const code of ERROR_CODES) {
      if (code !== 'internal') expect(code).toMatch(/^[a-z]+\/[a-z_]+$/);
    }
  });

  it('cannot be changed at run time', () => {
    expect(() => {
      (ERROR_STATUS as Record<string, number>)['internal'] = 200;
    }).toThrow(TypeError);
  });
});

describe('StepgateError', () => {
  it('is an Error carrying its code and details', () => {
    const cause = new Error('db');
    const error = new StepgateError('version/not_found', 'no version 7', { id: '7' }, { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('StepgateError');
    expect(error.code).toBe('version/not_found');
    expect(error.message).toBe('no version 7');
    expect(error.details).toEqual({ id: '7' });
    expect(error.cause).toBe(cause);
  });
});

describe('errorBody', () => {
  it('is {error, message} without details when there are none', () => {
    const body = errorBody(new StepgateError('auth/forbidden', 'needs scope admin'));
    expect(body).toStrictEqual({ error: 'auth/forbidden', message: 'needs scope admin' });
    expect('details' in body).toBe(false);
  });

  it('includes details when present', () => {
    const body = errorBody(new StepgateError('request/invalid', 'bad', { field: 'name' }));
    expect(JSON.parse(JSON.stringify(body))).toEqual({
      error: 'request/invalid',
      message: 'bad',
      details: { field: 'name' },
    });
  });
});

describe('isErrorCode', () => {
  it('recognises codes only', () => {
    expect(isErrorCode('bundle/too_large')).toBe(true);
    expect(isErrorCode('bundle/huge')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode(404)).toBe(false);
  });
});
