import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config/configuration.js';

describe('STEPGATE_EVENTS_RATE_LIMIT', () => {
  it('defaults to 10,000 events a second per token', () => {
    expect(loadConfig({}).eventsRateLimit).toBe(10_000);
    expect(loadConfig({ STEPGATE_EVENTS_RATE_LIMIT: '250' }).eventsRateLimit).toBe(250);
  });

  it('refuses a limit that is not a positive whole number, naming the variable', () => {
    for (const value of ['0', '-5', '1.5', 'lots'])
      expect(() => loadConfig({ STEPGATE_EVENTS_RATE_LIMIT: value })).toThrow(
        expect.objectContaining({
          constructor: ConfigError,
          message: expect.stringContaining('STEPGATE_EVENTS_RATE_LIMIT'),
        }),
      );
  });
});
