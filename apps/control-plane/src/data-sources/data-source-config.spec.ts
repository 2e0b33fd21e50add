import { describe, expect, it } from 'vitest';
import { addressProblem } from '../common/outbound-guard.js';
import { ConfigError, loadConfig } from '../config/configuration.js';

describe('data source configuration', () => {
  it('refuses private and loopback addresses by default, naming the variable that allows them', () => {
    const { outbound } = loadConfig({}).dataSources;
    expect(addressProblem('127.0.0.1', outbound)).toBe(
      '127.0.0.1 is loopback; allow it with STEPGATE_DATA_SOURCE_ALLOWED_NETWORKS',
    );
    expect(addressProblem('10.1.2.3', outbound)).toContain('private (RFC 1918)');
    expect(addressProblem('100.64.0.1', outbound)).toContain('CGNAT');
    expect(addressProblem('fd12::1', outbound)).toContain('unique local');
    expect(addressProblem('169.254.169.254', outbound)).toContain('link-local');
    expect(addressProblem('224.0.0.1', outbound)).toBe('224.0.0.1 is multicast');
    expect(addressProblem('0.0.0.0', outbound)).toBe('0.0.0.0 is an unspecified address');
    expect(addressProblem('::ffff:127.0.0.1', outbound)).toContain('loopback');
    expect(addressProblem('93.184.215.14', outbound)).toBeUndefined();
  });

  it('allows the networks STEPGATE_DATA_SOURCE_ALLOWED_NETWORKS names, never link-local', () => {
    const { outbound } = loadConfig({
      STEPGATE_DATA_SOURCE_ALLOWED_NETWORKS: '127.0.0.0/8, 10.20.0.0/16',
    }).dataSources;
    expect(addressProblem('127.0.0.1', outbound)).toBeUndefined();
    expect(addressProblem('10.20.3.4', outbound)).toBeUndefined();
    expect(addressProblem('10.21.3.4', outbound)).toContain('private');
    expect(addressProblem('169.254.169.254', outbound)).toContain('link-local');
    // Git sources and issuers keep their own setting.
    expect(addressProblem('127.0.0.1', loadConfig({}).outbound)).toContain(
      'STEPGATE_ALLOW_PRIVATE_URLS',
    );
  });

  it('refuses an entry that is not a CIDR, saying which', () => {
    expect(() =>
      loadConfig({ STEPGATE_DATA_SOURCE_ALLOWED_NETWORKS: '127.0.0.0/8,10.0.0.0/33' }),
    ).toThrow(
      new ConfigError(
        'invalid configuration: STEPGATE_DATA_SOURCE_ALLOWED_NETWORKS must be comma-separated CIDRs like 127.0.0.0/8 or 10.20.0.0/16, got "10.0.0.0/33"',
      ),
    );
  });

  it('keeps only the DATA_SOURCE_* variables for header references', () => {
    const config = loadConfig({
      DATA_SOURCE_FEED_TOKEN: 't',
      STEPGATE_SECRET_KEY: undefined,
      HOME: '/root',
    });
    expect(config.dataSources.env).toEqual({ DATA_SOURCE_FEED_TOKEN: 't' });
  });
});
