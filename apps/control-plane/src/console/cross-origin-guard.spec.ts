import type { NextFunction, Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { crossOriginGuard } from './cross-origin-guard.js';

function run(headers: Record<string, string>, allowed: string[] = []) {
  let status: number | undefined;
  let body: { message?: string } | undefined;
  let passed = false;
  const response = {
    status(code: number) {
      status = code;
      return this;
    },
    json(value: { message?: string }) {
      body = value;
      return this;
    },
  } as unknown as Response;
  const next: NextFunction = () => {
    passed = true;
  };
  crossOriginGuard(allowed)({ headers } as Request, response, next);
  return { passed, status, body };
}

describe('crossOriginGuard', () => {
  it('lets clients that are not browsers through (no Origin, no Sec-Fetch-Site)', () => {
    expect(run({ host: 'cp.example:8181' }).passed).toBe(true);
  });

  it('lets the console on the same host through, and origins configured for it', () => {
    expect(run({ host: 'cp.example:8181', origin: 'http://cp.example:8181' }).passed).toBe(true);
    // Behind a TLS-terminating proxy the scheme differs; the host is what counts.
    expect(run({ host: 'cp.example', origin: 'https://cp.example' }).passed).toBe(true);
    expect(
      run({ host: 'internal:8181', origin: 'https://console.example' }, ['https://console.example'])
        .passed,
    ).toBe(true);
    expect(run({ host: 'cp.example', 'sec-fetch-site': 'same-origin' }).passed).toBe(true);
  });

  it('refuses another origin, a null origin and a cross-site request without Origin', () => {
    for (const headers of [
      { host: 'cp.example', origin: 'https://evil.example' },
      { host: 'cp.example', origin: 'https://cp.example.evil.example' },
      { host: 'cp.example', origin: 'null' },
      { host: 'cp.example', 'sec-fetch-site': 'cross-site' },
      { host: 'cp.example', 'sec-fetch-site': 'same-site' },
    ]) {
      const outcome = run(headers);
      expect(outcome.passed, JSON.stringify(headers)).toBe(false);
      expect(outcome.status).toBe(403);
      expect(outcome.body?.message).toContain('cross-origin requests to the Stepgate API');
    }
  });
});
