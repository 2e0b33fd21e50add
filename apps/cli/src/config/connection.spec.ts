import { describe, expect, it } from 'vitest';
import { DEFAULT_CONTROL_PLANE_URL, resolveConnection } from './connection.js';
import { UsageError } from './usage-error.js';

describe('resolveConnection', () => {
  it('prefers flags over the environment', () => {
    const env = { STEPGATE_URL: 'http://env:1', STEPGATE_TOKEN: 'env-token' };
    expect(resolveConnection({ url: 'https://flag:2', token: 'flag-token' }, env)).toEqual({
      url: 'https://flag:2',
      token: 'flag-token',
    });
  });

  it('falls back to STEPGATE_URL and STEPGATE_TOKEN, then to the default URL', () => {
    expect(resolveConnection({}, { STEPGATE_URL: 'http://env:1', STEPGATE_TOKEN: 't' })).toEqual({
      url: 'http://env:1',
      token: 't',
    });
    expect(resolveConnection({}, { STEPGATE_TOKEN: 't' }).url).toBe(DEFAULT_CONTROL_PLANE_URL);
    expect(DEFAULT_CONTROL_PLANE_URL).toBe('http://localhost:8181');
  });

  it('treats empty values as unset and trims a trailing newline from the token', () => {
    const env = { STEPGATE_URL: '', STEPGATE_TOKEN: 'env-token\n' };
    expect(resolveConnection({ url: '', token: '' }, env)).toEqual({
      url: DEFAULT_CONTROL_PLANE_URL,
      token: 'env-token',
    });
  });

  it('keeps a path prefix but drops trailing slashes', () => {
    const connection = resolveConnection(
      { url: 'https://proxy.example/stepgate/', token: 't' },
      {},
    );
    expect(connection.url).toBe('https://proxy.example/stepgate');
  });

  it('asks for --token or STEPGATE_TOKEN when there is no token', () => {
    expect(() => resolveConnection({ url: 'http://x' }, {})).toThrow(UsageError);
    expect(() => resolveConnection({}, { STEPGATE_TOKEN: '  ' })).toThrow(
      /--token.*STEPGATE_TOKEN/,
    );
  });

  it('refuses tokens that cannot go in a header, without repeating them', () => {
    const attempt = () => resolveConnection({ token: 'sec ret' }, {});
    expect(attempt).toThrow(UsageError);
    expect(attempt).not.toThrow(/sec ret/);
    expect(() => resolveConnection({ token: 'sécret' }, {})).toThrow(UsageError);
  });

  it('refuses URLs that are not http(s), unparsable, or carry credentials', () => {
    expect(() => resolveConnection({ url: 'ftp://host', token: 't' }, {})).toThrow(/http/);
    expect(() => resolveConnection({ url: 'localhost:8181', token: 't' }, {})).toThrow(UsageError);
    expect(() => resolveConnection({ url: 'not a url', token: 't' }, {})).toThrow(UsageError);
    const withPassword = () =>
      resolveConnection({ url: 'http://admin:hunter2@host', token: 't' }, {});
    expect(withPassword).toThrow(/credentials/);
    expect(withPassword).not.toThrow(/hunter2/);
  });
});
