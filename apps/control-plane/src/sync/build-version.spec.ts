import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleHashOf } from '@stepgate/protocol';
import { buildVersion } from './build-version.js';

const POLICIES = join(import.meta.dirname, '../../../../policies');

function readTree(dir: string): { path: string; content: string }[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return readTree(full);
    return [{ path: relative(POLICIES, full), content: readFileSync(full, 'utf8') }];
  });
}

describe('buildVersion', () => {
  const files = readTree(POLICIES);

  it('makes the example repository a ready version with a bundle hash agents can check', async () => {
    const built = await buildVersion(files, 8 * 1024 * 1024);
    expect(built.status).toBe('ready');
    expect(built.testReport?.failed).toBe(0);
    expect(built.testReport?.passed).toBeGreaterThanOrEqual(40);
    expect(built.bundleHash).toBe(await bundleHashOf(built.policySet));
    expect(built.size).toBeGreaterThan(1000);
  });

  it('fails a version whose bundle is over the size budget, and ships no policy set', async () => {
    const built = await buildVersion(files, 1000);
    expect(built.status).toBe('failed');
    expect(built.errors[0]?.message).toMatch(/budget is 1000/);
    expect(built.policySet).toBeNull();
  });

  it('fails a version whose policy test fails, naming the case', async () => {
    const broken = files.map((f) =>
      f.path === 'cicd/production-deploys.test.yaml'
        ? { ...f, content: f.content.replace('effect: allow', 'effect: deny') }
        : f,
    );
    const built = await buildVersion(broken, 8 * 1024 * 1024);
    expect(built.status).toBe('failed');
    expect(built.testReport?.failed).toBe(1);
    expect(built.testReport?.failures[0]?.file).toBe('cicd/production-deploys.test.yaml');
  });

  it('fails a version that does not compile, keeping every error', async () => {
    const broken = files.map((f) =>
      f.path === 'stepgate.yaml' ? { ...f, content: `${f.content}\nbogus: 1\n` } : f,
    );
    const built = await buildVersion(broken, 8 * 1024 * 1024);
    expect(built.status).toBe('failed');
    expect(built.errors.map((e) => e.code)).toContain('schema/invalid');
    expect(built.testReport).toBeNull();
  });
});
