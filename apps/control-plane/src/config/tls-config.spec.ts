import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './configuration.js';

describe('loadConfig: TLS', () => {
  it('serves HTTP without STEPGATE_TLS_*, HTTPS with the pair', () => {
    expect(loadConfig({}).tls).toBeUndefined();
    expect(
      loadConfig({ STEPGATE_TLS_CERT: '/etc/tls/tls.crt', STEPGATE_TLS_KEY: '/etc/tls/tls.key' })
        .tls,
    ).toEqual({ certFile: '/etc/tls/tls.crt', keyFile: '/etc/tls/tls.key' });
    // Empty means unset, as for every variable.
    expect(loadConfig({ STEPGATE_TLS_CERT: '', STEPGATE_TLS_KEY: '' }).tls).toBeUndefined();
  });

  it.each([
    [{ STEPGATE_TLS_CERT: '/c.pem' }, 'STEPGATE_TLS_CERT is set but STEPGATE_TLS_KEY is not'],
    [{ STEPGATE_TLS_KEY: '/k.pem' }, 'STEPGATE_TLS_KEY is set but STEPGATE_TLS_CERT is not'],
  ])('refuses half a pair in one line (%o)', (env, message) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      `invalid configuration: ${message}: HTTPS needs both the certificate and its private key (PEM files)`,
    );
  });
});
