import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config/configuration.js';

describe('grant and approval configuration', () => {
  it('defaults: grants 15 min capped at 1 h, approvals open 1 h, swept every minute', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      grantTtlSeconds: 900,
      grantMaxTtlSeconds: 3600,
      approvalTtlSeconds: 3600,
      approvalSweepIntervalSeconds: 60,
    });
  });

  it('reads durations, and a default above a lowered cap is held to the cap', () => {
    const config = loadConfig({
      STEPGATE_GRANT_TTL: '30m',
      STEPGATE_GRANT_MAX_TTL: '10m',
      STEPGATE_APPROVAL_TTL: '2h',
      STEPGATE_APPROVAL_SWEEP_INTERVAL: '5s',
    });
    expect(config.grantTtlSeconds).toBe(600);
    expect(config.grantMaxTtlSeconds).toBe(600);
    expect(config.approvalTtlSeconds).toBe(7200);
    expect(config.approvalSweepIntervalSeconds).toBe(5);
  });

  it('refuses lifetimes too short to use, naming the variable', () => {
    expect(() => loadConfig({ STEPGATE_GRANT_MAX_TTL: '5s' })).toThrow(ConfigError);
    expect(() => loadConfig({ STEPGATE_APPROVAL_TTL: 'soon' })).toThrow(/STEPGATE_APPROVAL_TTL/);
  });
});
