import { describe, expect, it } from 'vitest';
import { ConfigError, isLoopback, loadConfig } from './config.js';

const TOKEN = { STEPGATE_AGENT_TOKEN: 'sg_agent_token' };

function refusal(env: Record<string, string>, argv: string[] = []): string {
  try {
    loadConfig({ ...TOKEN, ...env }, argv);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).not.toContain('\n');
    return (error as Error).message;
  }
  throw new Error('loadConfig accepted it');
}

describe('loadConfig: TLS', () => {
  it('serves HTTP without certificate settings, HTTPS with the pair (flags win)', () => {
    const plain = loadConfig(TOKEN, []);
    expect(plain.tls).toBeUndefined();
    expect(plain.caFile).toBeUndefined();
    const config = loadConfig(
      {
        ...TOKEN,
        STEPGATE_TLS_CERT: '/etc/stepgate/tls.crt',
        STEPGATE_TLS_KEY: '/etc/stepgate/tls.key',
        STEPGATE_TLS_CLIENT_CA: '/etc/stepgate/apiserver-ca.crt',
        STEPGATE_CA_FILE: '/etc/stepgate/cp-ca.crt',
      },
      ['--tls-cert', '/run/tls.crt'],
    );
    expect(config.tls).toEqual({
      certFile: '/run/tls.crt',
      keyFile: '/etc/stepgate/tls.key',
      clientCaFile: '/etc/stepgate/apiserver-ca.crt',
    });
    expect(config.caFile).toBe('/etc/stepgate/cp-ca.crt');
  });

  it('refuses half a pair, and a client CA without a certificate, naming what is missing', () => {
    expect(refusal({ STEPGATE_TLS_CERT: '/c.pem' })).toBe(
      'STEPGATE_TLS_CERT is set but STEPGATE_TLS_KEY is not: HTTPS needs both the certificate and its private key (PEM files)',
    );
    expect(refusal({}, ['--tls-key', '/k.pem'])).toMatch(
      /^--tls-key is set but STEPGATE_TLS_CERT is not/,
    );
    expect(refusal({ STEPGATE_TLS_CLIENT_CA: '/ca.pem' })).toMatch(
      /^STEPGATE_TLS_CLIENT_CA needs STEPGATE_TLS_CERT and STEPGATE_TLS_KEY/,
    );
  });

  it('refuses plain http:// to a host that is not loopback, naming both ways out', () => {
    const message = refusal({ STEPGATE_URL: 'http://cp.example.com:8181' });
    expect(message).toMatch(
      /^STEPGATE_URL is plain http:\/\/ to cp.example.com, which is not loopback/,
    );
    expect(message).toContain('use https://');
    expect(message).toContain('STEPGATE_ALLOW_INSECURE=true');
    expect(refusal({}, ['--url', 'http://10.0.0.5'])).toMatch(
      /^--url is plain http:\/\/ to 10.0.0.5/,
    );
    expect(refusal({ STEPGATE_URL: 'http://[fd00::1]:8181' })).toMatch(/to \[fd00::1\]/);
    // A name that merely starts like loopback is not loopback.
    expect(refusal({ STEPGATE_URL: 'http://127.0.0.1.example.com' })).toMatch(/not loopback/);
    expect(refusal({ STEPGATE_URL: 'http://localhost.example.com' })).toMatch(/not loopback/);
  });

  it('accepts http:// to loopback, https:// anywhere, and http:// with STEPGATE_ALLOW_INSECURE=true', () => {
    for (const url of [
      'http://localhost:8181',
      'http://127.0.0.1:8181',
      'http://127.10.20.30',
      'http://[::1]:8181',
      'https://cp.example.com',
    ])
      expect(loadConfig({ ...TOKEN, STEPGATE_URL: url }, []).url).toBe(url);
    expect(
      loadConfig(
        { ...TOKEN, STEPGATE_URL: 'http://cp.internal', STEPGATE_ALLOW_INSECURE: 'true' },
        [],
      ).url,
    ).toBe('http://cp.internal');
    expect(
      loadConfig({ ...TOKEN }, ['--url', 'http://cp.internal', '--allow-insecure', 'true']).url,
    ).toBe('http://cp.internal');
    expect(
      refusal({ STEPGATE_URL: 'http://cp.internal', STEPGATE_ALLOW_INSECURE: 'false' }),
    ).toMatch(/not loopback/);
    expect(refusal({ STEPGATE_ALLOW_INSECURE: 'yes please' })).toBe(
      'STEPGATE_ALLOW_INSECURE must be one of true, false, got "yes please"',
    );
  });

  it.each([
    ['localhost', true],
    ['LOCALHOST', true],
    ['127.0.0.1', true],
    ['127.255.255.254', true],
    ['[::1]', true],
    ['128.0.0.1', false],
    ['127.0.0.256', false],
    ['0.0.0.0', false],
    ['[::]', false],
    ['[::ffff:10.0.0.1]', false],
    ['example.com', false],
  ])('isLoopback(%s) is %s', (host, expected) => {
    expect(isLoopback(host)).toBe(expected);
  });
});
