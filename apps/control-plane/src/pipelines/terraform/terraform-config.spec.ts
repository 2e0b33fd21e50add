import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/configuration.js';

const KEY = 'a-run-task-hmac-key-of-32-chars!';
const noFiles = () => {
  throw new Error('no files here');
};

describe('Terraform run task settings', () => {
  it('are off without an HMAC key', () => {
    expect(loadConfig({}, noFiles).terraform).toBeUndefined();
  });

  it('take the key, the HCP Terraform origin, the step-up timeout and the heartbeat', () => {
    expect(
      loadConfig(
        {
          STEPGATE_TERRAFORM_HMAC_KEY: KEY,
          STEPGATE_TERRAFORM_URL: 'https://tfe.example.com/',
          STEPGATE_TERRAFORM_STEP_UP_TIMEOUT: '10m',
          STEPGATE_TERRAFORM_HEARTBEAT: '1m',
        },
        noFiles,
      ).terraform,
    ).toEqual({
      hmacKey: KEY,
      url: 'https://tfe.example.com',
      stepUpTimeoutSeconds: 600,
      heartbeatMs: 60_000,
    });
    expect(loadConfig({ STEPGATE_TERRAFORM_HMAC_KEY: KEY }, noFiles).terraform).toEqual({
      hmacKey: KEY,
      url: 'https://app.terraform.io',
      stepUpTimeoutSeconds: 1800,
      heartbeatMs: 300_000,
    });
  });

  it('read the key from a file', () => {
    const config = loadConfig({ STEPGATE_TERRAFORM_HMAC_KEY_FILE: '/run/key' }, (path) =>
      path === '/run/key' ? `${KEY}\n` : noFiles(),
    );
    expect(config.terraform?.hmacKey).toBe(KEY);
  });

  it('refuse a short key, a timeout past what HCP Terraform allows, a heartbeat past 9m', () => {
    expect(() => loadConfig({ STEPGATE_TERRAFORM_HMAC_KEY: 'short' }, noFiles)).toThrow(
      /STEPGATE_TERRAFORM_HMAC_KEY must be at least 16 characters/,
    );
    expect(() =>
      loadConfig(
        { STEPGATE_TERRAFORM_HMAC_KEY: KEY, STEPGATE_TERRAFORM_STEP_UP_TIMEOUT: '1h' },
        noFiles,
      ),
    ).toThrow(/STEPGATE_TERRAFORM_STEP_UP_TIMEOUT must be between 1s and 55m/);
    expect(() =>
      loadConfig(
        { STEPGATE_TERRAFORM_HMAC_KEY: KEY, STEPGATE_TERRAFORM_HEARTBEAT: '10m' },
        noFiles,
      ),
    ).toThrow(/STEPGATE_TERRAFORM_HEARTBEAT/);
  });
});
