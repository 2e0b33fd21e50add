/**
 * Applies every migration in prisma/migrations to DATABASE_URL (default
 * postgresql://postgres@127.0.0.1:5432/stepgate), recording them in `_prisma_migrations` exactly as
 * `prisma migrate deploy` does, and creating the database first when it does not exist.
 *
 *   node --experimental-wasm-modules scripts/db/migrate.mjs
 *
 * Idempotent: already applied migrations are skipped. Prints one line per applied migration; on
 * failure prints one `stepgate: ...` line to stderr and exits 1. The control plane runs this on
 * start-up (apps/control-plane/src/database/apply-migrations.ts).
 *
 * Concurrency: the engine holds the advisory lock `prisma migrate deploy` uses
 * (pg_advisory_lock(72707369)) while it applies, so replicas starting at once, or this script and
 * the Prisma CLI, never migrate concurrently. Taking that lock here too would deadlock against the
 * engine's own session.
 */
import {
  ScriptError,
  connectCreatingDatabase,
  databaseName,
  databaseUrlFromEnv,
  main,
} from './connection.mjs';
import { readMigrationList } from './migrations-folder.mjs';
import { NO_FILTERS, engineErrorLine, openSchemaEngine } from './schema-engine.mjs';

await main(async () => {
  const url = databaseUrlFromEnv();
  const migrationsList = await readMigrationList();
  const total = migrationsList.migrationDirectories.length;
  if (total === 0) throw new ScriptError('no migrations in prisma/migrations');

  // Also the reachability check: pg's errors make better one-liners than the engine's.
  await (await connectCreatingDatabase(url, (line) => console.log(line))).end();

  const { engine, close } = await openSchemaEngine(url);
  let applied;
  try {
    ({ appliedMigrationNames: applied } = await engine.applyMigrations({
      migrationsList,
      filters: NO_FILTERS,
    }));
  } catch (error) {
    throw new ScriptError(engineErrorLine(error));
  } finally {
    await close();
  }
  for (const name of applied) console.log(`Applied migration ${name}`);
  if (applied.length === 0) {
    const count = total === 1 ? '1 migration' : `${total} migrations`;
    console.log(`Database "${databaseName(url)}" is up to date (${count})`);
  }
});
