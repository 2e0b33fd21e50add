/**
 * Prisma's schema engine compiled to WASM, driven through the pg driver adapter: no downloaded
 * binary needed (see docs/development.md, "The database without Prisma's downloaded engines"). Importing this
 * module needs `node --experimental-wasm-modules` on Node 20.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import { SchemaEngine } from '@prisma/schema-engine-wasm';
import pg from 'pg';

import { ScriptError, describeServer, firstLine } from './connection.mjs';

export const NO_FILTERS = Object.freeze({ externalTables: [], externalEnums: [] });

/**
 * Opens the engine on `url` (it connects right away, even when it will only diff schemas). Call
 * `close()` when done: the engine does not end its connection pool, which would keep the process
 * alive until the idle timeout.
 */
export async function openSchemaEngine(url) {
  const pool = new pg.Pool({ connectionString: url.href });
  pool.on('error', () => {});
  const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPg(pool));
  let engine;
  try {
    // The engine logs JSON lines through the callback; they are tracing noise for a CLI.
    engine = await SchemaEngine.new({ datamodels: undefined }, () => {}, adapter);
  } catch (error) {
    await pool.end().catch(() => {});
    throw new ScriptError(
      `schema engine cannot connect to PostgreSQL at ${describeServer(url)}: ${firstLine(error?.message)}; start it or set DATABASE_URL`,
    );
  }
  return {
    engine,
    async close() {
      engine.free();
      await pool.end().catch(() => {});
    },
  };
}

/**
 * One line from a schema-engine error: its message without the Rust span trace, prefixed with
 * the migration it happened in when the trace names one.
 */
export function engineErrorLine(error) {
  const message = String(error?.message ?? error);
  const migration = /with migration_name="([^"]+)"/.exec(message)?.[1];
  const lines = message.split('\n').map((line) => line.trim());
  // The span trace starts at "0: crate::module::..."; nothing after it is for humans.
  const traceStart = lines.findIndex((line) => /^\d+: \S+::/.test(line));
  const text =
    lines
      .slice(0, traceStart < 0 ? undefined : traceStart)
      // A wrapper line in front of the adapter's actual error.
      .filter((line) => line && line !== 'external connector error')
      .join(' ') || 'unknown schema engine error';
  const code = error?.code ? ` (${error.code})` : '';
  return migration ? `migration ${migration} failed: ${text}${code}` : `${text}${code}`;
}
