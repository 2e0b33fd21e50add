import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './configuration.js';

const PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----\n';
const APP = {
  STEPGATE_GITHUB_APP_ID: '123456',
  STEPGATE_GITHUB_APP_PRIVATE_KEY: PEM,
  STEPGATE_GITHUB_WEBHOOK_SECRET: 'a-webhook-secret-of-32-characters',
};

describe('loadConfig: GitHub App and pipeline gates', () => {
  it('is off without the App, on with all three, with the API root for GHES', () => {
    expect(loadConfig({}).github).toBeUndefined();
    expect(loadConfig(APP).github).toEqual({
      appId: '123456',
      privateKey: PEM,
      webhookSecret: 'a-webhook-secret-of-32-characters',
      apiUrl: 'https://api.github.com',
    });
    expect(
      loadConfig({ ...APP, STEPGATE_GITHUB_API_URL: 'https://ghe.example.com/api/v3/' }).github
        ?.apiUrl,
    ).toBe('https://ghe.example.com/api/v3');
  });

  it('refuses part of the App in one line naming what is missing', () => {
    const { STEPGATE_GITHUB_WEBHOOK_SECRET: _, ...partial } = APP;
    expect(() => loadConfig(partial)).toThrow(ConfigError);
    expect(() => loadConfig(partial)).toThrow('missing STEPGATE_GITHUB_WEBHOOK_SECRET');
  });

  it('refuses a private key that is not PEM, a short secret and a non-numeric id', () => {
    expect(() => loadConfig({ ...APP, STEPGATE_GITHUB_APP_PRIVATE_KEY: '/path/app.pem' })).toThrow(
      'STEPGATE_GITHUB_APP_PRIVATE_KEY is not a PEM private key',
    );
    expect(() => loadConfig({ ...APP, STEPGATE_GITHUB_WEBHOOK_SECRET: 'short' })).toThrow(
      'STEPGATE_GITHUB_WEBHOOK_SECRET must be at least 16 characters',
    );
    expect(() => loadConfig({ ...APP, STEPGATE_GITHUB_APP_ID: 'stepgate' })).toThrow(
      "STEPGATE_GITHUB_APP_ID is the App's numeric id",
    );
  });

  it('polls pending gates every 2s and gives them 1h by default; the public URL defaults to the port', () => {
    const config = loadConfig({ PORT: '9000' });
    expect(config.pipelineGates).toEqual({ pollIntervalMs: 2000, ttlSeconds: 3600 });
    expect(config.publicUrl).toBe('http://localhost:9000');
    const tuned = loadConfig({
      STEPGATE_PIPELINE_GATE_POLL_INTERVAL: '200ms',
      STEPGATE_PIPELINE_GATE_TTL: '10m',
      STEPGATE_PUBLIC_URL: 'https://stepgate.example.com/',
    });
    expect(tuned.pipelineGates).toEqual({ pollIntervalMs: 200, ttlSeconds: 600 });
    expect(tuned.publicUrl).toBe('https://stepgate.example.com');
    expect(() => loadConfig({ STEPGATE_PIPELINE_GATE_POLL_INTERVAL: '10ms' })).toThrow(
      'STEPGATE_PIPELINE_GATE_POLL_INTERVAL must be between 50ms and 1m',
    );
  });
});
