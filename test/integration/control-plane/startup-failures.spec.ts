/**
 * Start-up failures of the real control plane process: what is unreachable or misconfigured is
 * said in one line on stderr, with the variable to change, and a non-zero exit; no stack trace.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dropDatabase,
  runControlPlaneToExit,
  type ExitedProcess,
} from '../../support/control-plane-process.js';
import { ensureControlPlaneBuilt } from './support.js';

const databases: string[] = [];
let dataDir: string;

beforeAll(async () => {
  await ensureControlPlaneBuilt();
  dataDir = mkdtempSync(join(tmpdir(), 'stepgate-it-startup-'));
}, 360_000);

afterAll(async () => {
  for (const name of databases) await dropDatabase(name).catch(() => undefined);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** A fresh database URL this suite drops afterwards. */
function scratchDatabase(): string {
  const name = `stepgate_it_${randomBytes(5).toString('hex')}`;
  databases.push(name);
  return `postgresql://postgres@127.0.0.1:5432/${name}`;
}

const base = () => ({
  STEPGATE_DATA_DIR: dataDir,
  STEPGATE_REDIS_PREFIX: `stepgate-it-startup-${randomBytes(4).toString('hex')}`,
  STEPGATE_ADMIN_TOKEN: `sg_test_admin_${randomBytes(16).toString('hex')}`,
});

function expectOneLine(run: ExitedProcess): string {
  expect(run.timedOut, 'the process should exit by itself').toBe(false);
  const lines = run.stderr.trim().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  expect(run.stderr).not.toMatch(/^\s+at /m); // no stack frames
  expect(run.stderr + run.stdout).not.toMatch(/\n\s+at .+:\d+:\d+\)?$/m);
  return lines[0]!;
}

describe('start-up failures', () => {
  it('PostgreSQL unreachable: exits non-zero with one line naming PostgreSQL and DATABASE_URL', async () => {
    const run = await runControlPlaneToExit({
      ...base(),
      DATABASE_URL: 'postgresql://postgres:secret-pw@127.0.0.1:1/stepgate',
    });
    expect(run.code).not.toBe(0);
    expect(run.code).not.toBeNull();
    const line = expectOneLine(run);
    expect(line).toMatch(/PostgreSQL/);
    expect(line).toContain('DATABASE_URL');
    expect(line).toContain('127.0.0.1:1');
    expect(line).not.toContain('secret-pw'); // the password is never printed
  });

  it('Redis unreachable: exits non-zero with one line naming Redis and REDIS_URL', async () => {
    const run = await runControlPlaneToExit({
      ...base(),
      DATABASE_URL: scratchDatabase(),
      REDIS_URL: 'redis://:redis-pw@127.0.0.1:1',
    });
    expect(run.code).not.toBe(0);
    expect(run.code).not.toBeNull();
    const line = expectOneLine(run);
    expect(line).toMatch(/Redis/);
    expect(line).toContain('REDIS_URL');
    expect(line).toContain('127.0.0.1:1');
    expect(line).not.toContain('redis-pw');
  });

  it('invalid configuration (PORT=abc): exit 2 naming the variable', async () => {
    const run = await runControlPlaneToExit({ ...base(), PORT: 'abc' });
    expect(run.code).toBe(2);
    const line = expectOneLine(run);
    expect(line).toContain('PORT');
    expect(line).toMatch(/invalid configuration/);
  });

  it.each([
    ['DATABASE_URL', 'not a url'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['STEPGATE_ADMIN_TOKEN', 'short'],
    ['STEPGATE_AUTO_ACTIVATE', 'maybe'],
    ['STEPGATE_POLL_INTERVAL', 'often'],
  ])('invalid %s=%s: exit 2 naming it', async (name, value) => {
    const run = await runControlPlaneToExit({ ...base(), [name]: value });
    expect(run.code).toBe(2);
    expect(expectOneLine(run)).toContain(name);
  });

  it('several bad variables are all named in the one line', async () => {
    const run = await runControlPlaneToExit({
      ...base(),
      PORT: '70000',
      STEPGATE_LOG_LEVEL: 'loud',
    });
    expect(run.code).toBe(2);
    const line = expectOneLine(run);
    expect(line).toContain('PORT');
    expect(line).toContain('STEPGATE_LOG_LEVEL');
  });
});
