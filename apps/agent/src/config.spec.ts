import { describe, expect, it } from 'vitest';
import { ConfigError, HelpRequested, loadConfig } from './config.js';

const TOKEN = { STEPGATE_AGENT_TOKEN: 'sg_agent_token' };

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    expect(loadConfig(TOKEN, [])).toEqual({
      url: 'http://localhost:8181',
      token: 'sg_agent_token',
      labels: {},
      cacheDir: '.stepgate-agent',
      port: 8182,
      host: '0.0.0.0',
      failMode: 'closed',
      maxStalenessMs: 3_600_000,
      logBuffer: 10_000,
      logLevel: 'info',
      challenge: 'rfc9470',
      trustedProxies: [],
      maxRevisionStep: 100_000,
      resetTrust: false,
    });
  });

  it('reads STEPGATE_TRUSTED_PROXIES as CIDRs and refuses a malformed entry', () => {
    const config = loadConfig(
      { ...TOKEN, STEPGATE_TRUSTED_PROXIES: '127.0.0.1/32, 10.1.0.0/16,::1' },
      [],
    );
    expect(config.trustedProxies).toEqual([
      { version: 4, network: 0x7f000001n, prefix: 32 },
      { version: 4, network: 0x0a010000n, prefix: 16 },
      { version: 6, network: 1n, prefix: 128 },
    ]);
    expect(loadConfig(TOKEN, ['--trusted-proxies', '192.0.2.0/24']).trustedProxies).toHaveLength(1);
    expect(() =>
      loadConfig({ ...TOKEN, STEPGATE_TRUSTED_PROXIES: '127.0.0.1/32,nginx' }, []),
    ).toThrow(
      'STEPGATE_TRUSTED_PROXIES must be comma-separated IP addresses or CIDRs like 127.0.0.1/32 or 10.0.0.0/8, got "nginx"',
    );
    expect(() => loadConfig({ ...TOKEN, STEPGATE_TRUSTED_PROXIES: '10.0.0.0/33' }, [])).toThrow(
      /got "10.0.0.0\/33"/,
    );
  });

  it('reads every setting from the environment, and flags win', () => {
    const config = loadConfig(
      {
        ...TOKEN,
        STEPGATE_URL: 'https://cp.example.com/stepgate/',
        STEPGATE_AGENT_ID: 'edge-1',
        STEPGATE_AGENT_LABELS: 'env=prod, team=payments',
        STEPGATE_CACHE_DIR: '/var/lib/stepgate',
        STEPGATE_AGENT_PORT: '9000',
        STEPGATE_FAIL_MODE: 'open',
        STEPGATE_MAX_STALENESS: '10m',
        STEPGATE_TRUSTED_KEYS: '/etc/stepgate/jwks.json',
        STEPGATE_LOG_BUFFER: '500',
        STEPGATE_CHALLENGE: 'insufficient_claims',
      },
      ['--port', '9001', '--max-staleness=off'],
    );
    expect(config).toMatchObject({
      url: 'https://cp.example.com/stepgate',
      agentId: 'edge-1',
      labels: { env: 'prod', team: 'payments' },
      cacheDir: '/var/lib/stepgate',
      port: 9001,
      failMode: 'open',
      trustedKeysFile: '/etc/stepgate/jwks.json',
      logBuffer: 500,
      challenge: 'insufficient_claims',
    });
    expect(config.maxStalenessMs).toBeUndefined();
  });

  it.each([
    [{}, [], /STEPGATE_AGENT_TOKEN is required/],
    [TOKEN, ['--bogus'], /Unknown option '--bogus'/],
    [{ ...TOKEN, STEPGATE_URL: 'ftp://x' }, [], /STEPGATE_URL must be an http\(s\) URL/],
    [{ ...TOKEN, STEPGATE_URL: 'not a url' }, [], /STEPGATE_URL is not a URL/],
    [{ ...TOKEN, STEPGATE_AGENT_ID: 'has space' }, [], /STEPGATE_AGENT_ID must be/],
    [{ ...TOKEN, STEPGATE_AGENT_LABELS: 'a=b,c' }, [], /label "c" is not k=v/],
    [{ ...TOKEN, STEPGATE_AGENT_PORT: '80a' }, [], /STEPGATE_AGENT_PORT must be an integer/],
    [TOKEN, ['--fail-mode', 'half'], /--fail-mode must be one of closed, open/],
    [{ ...TOKEN, STEPGATE_MAX_STALENESS: '0s' }, [], /STEPGATE_MAX_STALENESS must be longer/],
    [{ ...TOKEN, STEPGATE_MAX_STALENESS: '60' }, [], /STEPGATE_MAX_STALENESS: "60" is not a dur/],
    [{ ...TOKEN, STEPGATE_LOG_BUFFER: '0' }, [], /STEPGATE_LOG_BUFFER must be an integer from 1/],
  ] as const)('refuses bad settings in one line (%#)', (env, argv, message) => {
    let error: unknown;
    try {
      loadConfig(env, argv);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('recognises --help', () => {
    expect(() => loadConfig({}, ['--help'])).toThrow(HelpRequested);
  });

  it('reads the maximum revision step, and --reset-trust as a flag only', () => {
    const config = loadConfig({ ...TOKEN, STEPGATE_MAX_REVISION_STEP: '500' }, ['--reset-trust']);
    expect(config).toMatchObject({ maxRevisionStep: 500, resetTrust: true });
    expect(() => loadConfig({ ...TOKEN, STEPGATE_MAX_REVISION_STEP: '0' }, [])).toThrow(
      /STEPGATE_MAX_REVISION_STEP must be an integer from 1/,
    );
    expect(loadConfig({ ...TOKEN, STEPGATE_RESET_TRUST: 'true' }, []).resetTrust).toBe(false);
  });
});
