/**
 * The control plane's database layer against the real PostgreSQL on the machine: migrations
 * (scripts/db/migrate.mjs through applyMigrations), the Prisma schema they produce, and
 * PrismaService wired through DatabaseModule. Each run works in its own fresh database.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { Test } from '@nestjs/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { applyMigrations } from '../../apps/control-plane/src/database/apply-migrations.js';
import { DatabaseModule } from '../../apps/control-plane/src/database/database.module.js';
import { PrismaService } from '../../apps/control-plane/src/database/prisma.service.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MIGRATIONS_DIR = path.join(REPO_ROOT, 'prisma', 'migrations');
/** The local PostgreSQL every development and CI machine runs (docs/development.md); overridable for unusual local setups. */
const SERVER_URL = process.env.STEPGATE_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';

const TABLES = [
  '_prisma_migrations',
  'activation',
  'active_state',
  'agent',
  'api_token',
  'approval',
  'approval_request',
  'audit_event',
  'data_source_state',
  'decision_hour_principal',
  'decision_hour_rule',
  'decision_log',
  'decision_minute',
  'enrolment_code',
  'fleet_agent',
  'grant',
  'live_data_change',
  'live_data_state',
  'live_document',
  'pipeline_delivery',
  'pipeline_gate',
  'policy_source',
  'policy_version',
  'replay',
  'signing_key',
  'totp_factor',
  'webauthn_challenge',
  'webauthn_credential',
  'webhook_delivery',
];

const databaseName = `stepgate_test_${randomBytes(6).toString('hex')}`;
const databaseUrl = urlFor(databaseName);
let admin: pg.Client;
let db: pg.Client;
let migrationNames: string[];
let firstRunLog: string[];

function urlFor(database: string): string {
  const url = new URL(SERVER_URL);
  url.pathname = `/${database}`;
  return url.href;
}

async function databaseExists(name: string): Promise<boolean> {
  const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return rowCount === 1;
}

beforeAll(async () => {
  admin = new pg.Client({ connectionString: urlFor('postgres') });
  await admin.connect();
  migrationNames = (await readdir(MIGRATIONS_DIR, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();

  expect(await databaseExists(databaseName)).toBe(false);
  firstRunLog = [];
  await applyMigrations(databaseUrl, { log: (line) => firstRunLog.push(line) });

  db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  if (admin) {
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(databaseName)} WITH (FORCE)`);
    await admin.end();
  }
});

describe('applyMigrations', () => {
  it('creates the missing database and reports every migration it applies', async () => {
    const server = new URL(SERVER_URL);
    expect(migrationNames.length).toBeGreaterThan(0);
    expect(await databaseExists(databaseName)).toBe(true);
    expect(firstRunLog).toEqual([
      `Created database "${databaseName}" on ${server.hostname}:${server.port || '5432'}`,
      ...migrationNames.map((name) => `Applied migration ${name}`),
    ]);
  });

  it('creates every table of the schema', async () => {
    const { rows } = await db.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables
       WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
    );
    expect(rows.map((row) => row.table_name)).toEqual(TABLES);
  });

  it('records each migration in _prisma_migrations as prisma migrate deploy does', async () => {
    const { rows } = await db.query<{
      migration_name: string;
      checksum: string;
      finished_at: Date | null;
      rolled_back_at: Date | null;
      applied_steps_count: number;
    }>('SELECT * FROM _prisma_migrations ORDER BY migration_name');
    const expected = await Promise.all(
      migrationNames.map(async (name) => ({
        migration_name: name,
        // Prisma compares this to the file on every deploy: it must be sha256 of migration.sql.
        checksum: createHash('sha256')
          .update(await readFile(path.join(MIGRATIONS_DIR, name, 'migration.sql')))
          .digest('hex'),
        rolled_back_at: null,
        applied_steps_count: 1,
      })),
    );
    expect(rows).toMatchObject(expected);
    for (const row of rows) expect(row.finished_at).toBeInstanceOf(Date);
  });

  it('seeds the ActiveState singleton and refuses a second row', async () => {
    const { rows } = await db.query('SELECT id, revision, active_version_id FROM active_state');
    expect(rows).toEqual([{ id: 1, revision: 0, active_version_id: null }]);
    await expect(db.query('INSERT INTO active_state (id) VALUES (2)')).rejects.toThrow(
      /active_state_singleton/,
    );
  });

  it('seeds the live-data revision singleton at 0 and refuses a second row', async () => {
    const { rows } = await db.query('SELECT id, revision FROM live_data_state');
    expect(rows).toEqual([{ id: 1, revision: 0 }]);
    await expect(db.query('INSERT INTO live_data_state (id) VALUES (2)')).rejects.toThrow(
      /live_data_state_singleton/,
    );
  });

  it('applies nothing the second time', async () => {
    const before = await db.query('SELECT id, started_at, finished_at FROM _prisma_migrations');
    const log: string[] = [];
    await applyMigrations(databaseUrl, { log: (line) => log.push(line) });
    const after = await db.query('SELECT id, started_at, finished_at FROM _prisma_migrations');
    expect(log).toEqual([
      `Database "${databaseName}" is up to date (${migrationNames.length} migration${migrationNames.length === 1 ? '' : 's'})`,
    ]);
    expect(after.rows).toEqual(before.rows);
  });

  it('rejects with one line naming the server and DATABASE_URL when PostgreSQL is unreachable', async () => {
    const error = await applyMigrations('postgresql://postgres:s3cret@127.0.0.1:1/stepgate').then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(Error);
    const { message } = error as Error;
    expect(message).toBe(
      'cannot reach PostgreSQL at 127.0.0.1:1 (ECONNREFUSED); start it or set DATABASE_URL',
    );
    expect(message).not.toContain('s3cret');
  });
});

describe('prisma/schema.prisma', () => {
  it('has no changes that the migrations do not cover', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--experimental-wasm-modules',
        '--disable-warning=ExperimentalWarning',
        path.join(REPO_ROOT, 'scripts', 'db', 'create-migration.mjs'),
        '--check',
      ],
      { env: { ...process.env, DATABASE_URL: urlFor('postgres') } },
    );
    expect(stdout).toContain('prisma/schema.prisma matches the migrations');
  });
});

describe('PrismaService', () => {
  it('creates and reads a PolicySource and its PolicyVersions, then releases its connections', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [DatabaseModule.forRoot(databaseUrl)],
    }).compile();
    await moduleRef.init();
    const prisma = moduleRef.get(PrismaService);
    try {
      await prisma.policySource.create({
        data: { id: 'default', name: 'Default', kind: 'remote', url: 'https://git.example/p.git' },
      });
      const version = {
        sourceId: 'default',
        branch: 'main',
        author: 'Ada',
        authorEmail: 'ada@example.com',
        message: 'Require MFA for prod deploys',
        committedAt: new Date('2026-11-20T10:00:00Z'),
        status: 'ready' as const,
        policySet: { rules: [{ id: 'r1', effect: 'step_up' }] },
        bundleHash: 'b'.repeat(64),
        size: 512,
      };
      const first = await prisma.policyVersion.create({
        data: { ...version, sha: 'a'.repeat(40) },
      });
      // (sourceId, sha) is unique: a re-sync of the same commit cannot create a second version.
      await expect(
        prisma.policyVersion.create({ data: { ...version, sha: 'a'.repeat(40) } }),
      ).rejects.toMatchObject({ code: 'P2002' });
      const second = await prisma.policyVersion.create({
        data: { ...version, sha: 'c'.repeat(40), forcePush: true },
      });
      expect(second.number).toBeGreaterThan(first.number);

      const source = await prisma.policySource.findUniqueOrThrow({
        where: { id: 'default' },
        include: { versions: { orderBy: { number: 'asc' } } },
      });
      expect(source).toMatchObject({
        name: 'Default',
        kind: 'remote',
        branch: 'main',
        path: '.',
        autoActivate: true,
        lastSyncedSha: null,
      });
      expect(source.createdAt).toBeInstanceOf(Date);
      expect(source.versions.map((v) => [v.sha, v.status, v.forcePush])).toEqual([
        ['a'.repeat(40), 'ready', false],
        ['c'.repeat(40), 'ready', true],
      ]);
      expect(source.versions[0]!.policySet).toEqual(version.policySet);
      expect(source.versions[0]!.committedAt.toISOString()).toBe('2026-11-20T10:00:00.000Z');

      // The pool keeps the connection of that last query open until the module is closed.
      expect(await otherConnections()).toBeGreaterThan(0);
    } finally {
      await moduleRef.close();
    }
    expect(await otherConnections()).toBe(0);
  });
});

/** Sessions on the test database other than `db`'s own. */
async function otherConnections(): Promise<number> {
  const { rows } = await db.query<{ count: number }>(
    `SELECT count(*)::int AS count FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid()`,
  );
  return rows[0]!.count;
}
