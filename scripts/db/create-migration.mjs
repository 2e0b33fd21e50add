/**
 * Creates prisma/migrations/<YYYYMMDDHHMMSS>_<name>/migration.sql from the changes made to
 * prisma/schema.prisma since the last migration, the way `prisma migrate dev --create-only` would,
 * without the schema-engine binary the Prisma CLI cannot download here.
 *
 *   node --experimental-wasm-modules scripts/db/create-migration.mjs <name>
 *   node --experimental-wasm-modules scripts/db/create-migration.mjs --check
 *
 * "Since the last migration" is the `schema.prisma.snapshot` stored in the newest migration
 * directory (the engine can diff schema to schema, but not the migrations folder or a live database
 * through the driver adapter). `--check` creates nothing and exits 1 when the schema has changes
 * that no migration covers (for CI).
 *
 * The engine needs a PostgreSQL connection even to diff two schemas; it uses the server in
 * DATABASE_URL (maintenance database `postgres`) and changes nothing there.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { ScriptError, connect, databaseUrlFromEnv, main, withDatabase } from './connection.mjs';
import {
  REPO_ROOT,
  SCHEMA_PATH,
  SNAPSHOT_FILE,
  readMigrationList,
  readSnapshot,
  writeMigration,
} from './migrations-folder.mjs';
import { NO_FILTERS, engineErrorLine, openSchemaEngine } from './schema-engine.mjs';

/** Prisma caps generated migration names at 200 characters. */
const MAX_NAME_LENGTH = 200;

await main(async () => {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  const names = args.filter((arg) => !arg.startsWith('--'));
  if (!check && names.length !== 1) {
    throw new ScriptError(
      'usage: create-migration.mjs <name>   (e.g. add_agents; or --check to verify nothing is pending)',
    );
  }

  const schema = await readFile(SCHEMA_PATH, 'utf8').catch(() => {
    throw new ScriptError(`cannot read ${path.relative(REPO_ROOT, SCHEMA_PATH)}`);
  });
  const provider = datasourceProvider(schema);
  const { migrationDirectories } = await readMigrationList();
  const last = migrationDirectories.at(-1)?.path;
  const previous = last === undefined ? datasourceOnly(provider) : await readSnapshot(last);
  if (previous === null) {
    throw new ScriptError(
      `prisma/migrations/${last} has no ${SNAPSHOT_FILE} (was it created with the Prisma CLI?); ` +
        `save the schema that migration leads to as prisma/migrations/${last}/${SNAPSHOT_FILE}`,
    );
  }

  const sql = await diffSchemas(previous, schema);

  if (check) {
    if (sql !== null) {
      throw new ScriptError(
        'prisma/schema.prisma has changes no migration covers; run `npm run db:migration:create -- <name>`',
      );
    }
    console.log(`prisma/schema.prisma matches the migrations (${last ?? 'none yet'})`);
    return;
  }
  if (sql === null) {
    console.log(`No schema changes since ${last ?? 'the empty database'}; no migration created`);
    return;
  }

  const name = `${timestamp(new Date())}_${slugify(names[0])}`;
  if (last !== undefined && name.localeCompare(last) <= 0) {
    throw new ScriptError(`new migration ${name} would not sort after ${last}; check the clock`);
  }
  const dir = await writeMigration({ name, sql, schema, provider });
  console.log(`Created ${path.relative(REPO_ROOT, path.join(dir, 'migration.sql'))}`);
  console.log('Review it (data loss, defaults for new NOT NULL columns) before committing.');
});

/** The SQL taking `from` to `to`, or null when they describe the same database. */
async function diffSchemas(from, to) {
  const url = withDatabase(databaseUrlFromEnv(), 'postgres');
  // A pg connection first: unreachable servers get the same one-line message as in migrate.mjs.
  await (await connect(url)).end();
  const { engine, close } = await openSchemaEngine(url);
  try {
    const result = await engine.diff({
      from: { tag: 'schemaDatamodel', files: [{ path: 'previous.prisma', content: from }] },
      to: { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: to }] },
      script: true,
      // exitCode: 0 = no difference, 2 = difference (as `prisma migrate diff --exit-code`).
      exitCode: true,
      filters: NO_FILTERS,
    });
    return result.exitCode === 0 ? null : result.stdout;
  } catch (error) {
    // Schema validation errors are multi-line with a caret pointing at the problem: keep them.
    const message = String(error?.message ?? error);
    throw new ScriptError(message.includes('\n') ? message.trimEnd() : engineErrorLine(error));
  } finally {
    await close();
  }
}

function datasourceProvider(schema) {
  const provider = /datasource\s+\w+\s*\{[^}]*?provider\s*=\s*"([^"]+)"/s.exec(schema)?.[1];
  if (!provider) throw new ScriptError('prisma/schema.prisma has no datasource provider');
  return provider;
}

/**
 * The first migration starts from a schema with only a datasource: the same SQL `prisma migrate
 * dev` writes (diffing from `empty` would add a `CREATE SCHEMA "public"` the CLI does not emit).
 */
function datasourceOnly(provider) {
  return `datasource db {\n  provider = "${provider}"\n}\n`;
}

/** UTC, as the schema engine names migration directories. */
function timestamp(date) {
  return date
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/\D/g, '');
}

/** Like the CLI's `slugify(name, { separator: '_' })`: `addAgents v2` -> `add_agents_v2`. */
function slugify(name) {
  const slug = name
    .replace(/([a-z\d])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z\d]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, MAX_NAME_LENGTH);
  if (!slug) throw new ScriptError(`migration name "${name}" has no letters or digits`);
  return slug;
}
