/**
 * DATABASE_URL handling shared by the db scripts: parsing, password-free descriptions, pg
 * connections with one-line errors, and creating the database when it does not exist yet.
 */
import pg from 'pg';

export const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/stepgate';
const MAINTENANCE_DATABASE = 'postgres';
const CONNECT_TIMEOUT_MS = 10_000;

/** An expected failure: `main()` prints `stepgate: <message>` as one line and exits 1. */
export class ScriptError extends Error {}

/**
 * Runs a script body; expected failures become one line on stderr and exit code 1, anything else
 * is a bug and keeps its stack trace.
 *
 * Exits explicitly: the WASM schema engine leaves a 10 s timer behind (its advisory-lock timeout)
 * that would otherwise keep the process alive after the work is done. stdout and stderr are
 * synchronous for files and pipes on Linux, so nothing written is lost.
 */
export async function main(body) {
  let code = 0;
  try {
    await body();
  } catch (error) {
    if (error instanceof ScriptError) {
      process.stderr.write(`stepgate: ${error.message}\n`);
    } else {
      process.stderr.write(`stepgate: unexpected error\n${error?.stack ?? String(error)}\n`);
    }
    code = 1;
  }
  process.exit(code);
}

/** Parses DATABASE_URL (or the local default); the URL itself never appears in messages. */
export function databaseUrlFromEnv() {
  const raw = process.env.DATABASE_URL?.trim() || DEFAULT_DATABASE_URL;
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw new ScriptError(
      'DATABASE_URL is not a valid URL; expected postgresql://user@host:port/db',
    );
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') {
    throw new ScriptError(
      `DATABASE_URL must be a postgresql:// URL (got ${url.protocol}//); set DATABASE_URL`,
    );
  }
  return url;
}

/** `host:port`, never the credentials. */
export function describeServer(url) {
  return `${url.hostname || 'localhost'}:${url.port || '5432'}`;
}

/** The database a URL points at (libpq and pg default it to the user name). */
export function databaseName(url) {
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return name || decodeURIComponent(url.username) || 'postgres';
}

/** The same server and credentials, another database. */
export function withDatabase(url, name) {
  const copy = new URL(url.href);
  copy.pathname = `/${encodeURIComponent(name)}`;
  return copy;
}

/** Connects a pg client, turning connection failures into one-line ScriptErrors. */
export async function connect(url) {
  const client = new pg.Client({
    connectionString: url.href,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  // Errors after connecting (server restart, idle kill) must not crash the script unhandled.
  client.on('error', () => {});
  const startedAt = Date.now();
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => {});
    throw connectionError(error, url, Date.now() - startedAt);
  }
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
]);

/**
 * Maps a pg connection error to a ScriptError. PostgreSQL errors (auth, missing database) keep
 * their SQLSTATE so callers can react to them.
 */
export function connectionError(error, url, elapsedMs = 0) {
  const server = describeServer(url);
  const code = error?.code ?? error?.errors?.[0]?.code;
  if (UNREACHABLE_CODES.has(code)) {
    return new ScriptError(
      `cannot reach PostgreSQL at ${server} (${code}); start it or set DATABASE_URL`,
    );
  }
  if (!code && elapsedMs >= CONNECT_TIMEOUT_MS - 100) {
    return new ScriptError(
      `cannot reach PostgreSQL at ${server} (no answer within ${CONNECT_TIMEOUT_MS / 1000}s); start it or set DATABASE_URL`,
    );
  }
  const reason = firstLine(error?.message ?? String(error));
  const scriptError = new ScriptError(
    `PostgreSQL at ${server} rejected the connection: ${reason}${code ? ` (${code})` : ''}; check DATABASE_URL`,
  );
  scriptError.sqlState = code;
  return scriptError;
}

/**
 * Makes sure the database in `url` exists, creating it through the maintenance database when it
 * does not. Returns a client connected to it (callers hold the migration lock on it).
 */
export async function connectCreatingDatabase(url, log) {
  try {
    return await connect(url);
  } catch (error) {
    // 3D000 invalid_catalog_name: the server is fine, the database is missing.
    if (!(error instanceof ScriptError) || error.sqlState !== '3D000') throw error;
  }
  const name = databaseName(url);
  const maintenance = await connect(withDatabase(url, MAINTENANCE_DATABASE));
  try {
    await maintenance.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    log(`Created database "${name}" on ${describeServer(url)}`);
  } catch (error) {
    // Another process (a second replica starting) created it first: fine.
    // 42P04 duplicate_database; 23505 when both inserts race on pg_database's unique index.
    if (error?.code !== '42P04' && error?.code !== '23505') {
      throw new ScriptError(
        `cannot create database "${name}" on ${describeServer(url)}: ${firstLine(error?.message)}; create it or set DATABASE_URL`,
      );
    }
  } finally {
    await maintenance.end().catch(() => {});
  }
  return connect(url);
}

export function firstLine(text) {
  return (
    String(text ?? '')
      .split('\n')
      .map((line) => line.trim())
      .find(Boolean) ?? 'unknown error'
  );
}
