import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MIGRATE_SCRIPT = path.join('scripts', 'db', 'migrate.mjs');

/** Flags the script needs on Node 20: the schema engine is a `.wasm` ES module import. */
const NODE_FLAGS = ['--experimental-wasm-modules', '--disable-warning=ExperimentalWarning'];

export interface ApplyMigrationsOptions {
  /** Receives each line the script prints ("Applied migration ...", "Created database ..."). */
  log?: (line: string) => void;
}

/**
 * Applies prisma/migrations to `databaseUrl` (creating the database if needed) by running
 * scripts/db/migrate.mjs in a child process: the WASM schema engine needs a Node flag the app
 * process does not run with. Rejects with the script's one-line error, e.g.
 * "cannot reach PostgreSQL at 127.0.0.1:5432 (ECONNREFUSED); start it or set DATABASE_URL".
 */
export function applyMigrations(
  databaseUrl: string,
  options: ApplyMigrationsOptions = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    // Inside the executor, so a missing script is a rejection like every other failure.
    const script = findMigrateScript();
    // The URL goes through the environment, not argv, which `ps` shows to every local user.
    const child = spawn(process.execPath, [...NODE_FLAGS, script], {
      cwd: path.dirname(path.dirname(path.dirname(script))),
      env: { ...process.env, DATABASE_URL: databaseUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const lines = stdout.split('\n');
      stdout = lines.pop() ?? '';
      for (const line of lines) if (line) options.log?.(line);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) =>
      reject(new Error(`cannot run ${MIGRATE_SCRIPT}: ${error.message}`)),
    );
    child.on('close', (code, signal) => {
      if (stdout) options.log?.(stdout);
      if (code === 0) {
        resolve();
        return;
      }
      reject(new Error(scriptError(stderr) ?? `${MIGRATE_SCRIPT} exited with ${code ?? signal}`));
    });
  });
}

/**
 * The script's error without its `stepgate: ` prefix. Expected failures are one line; anything
 * longer is a bug in the script and is kept whole (with its stack) to be diagnosable.
 */
function scriptError(stderr: string): string | undefined {
  const lines = stderr.split('\n').filter((line) => line.trim());
  if (lines.length === 0) return undefined;
  const text = lines.length === 1 ? lines[0]! : lines.join('\n');
  return text.replace(/^stepgate: /, '');
}

/**
 * scripts/db/migrate.mjs, found by walking up from this file: the same code runs from src/ (tests,
 * tsx) and from dist/, at whatever depth the build puts it.
 */
export function findMigrateScript(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, MIGRATE_SCRIPT);
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) {
      throw new Error(`cannot find ${MIGRATE_SCRIPT} in ${from} or any parent directory`);
    }
  }
}
