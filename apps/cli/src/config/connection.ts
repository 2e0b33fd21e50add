import { readFileSync } from 'node:fs';
import { resolveSecretFiles, type ReadTextFile } from '@stepgate/protocol';
import { UsageError } from './usage-error.js';

/** Where the control plane listens when neither `--url` nor STEPGATE_URL says otherwise. */
export const DEFAULT_CONTROL_PLANE_URL = 'http://localhost:8181';

/** The connection flags every admin command accepts. */
export interface ConnectionFlags {
  url?: string;
  token?: string;
}

/** A validated control-plane address (no trailing slash) and the bearer token to send to it. */
export interface Connection {
  url: string;
  token: string;
}

export type Environment = Readonly<Record<string, string | undefined>>;

/** The variables that hold a secret: each also accepts `<NAME>_FILE`, a file holding the value. */
export const SECRET_VARIABLES = ['STEPGATE_TOKEN'] as const;

/**
 * Resolves the control-plane connection: flags first, then STEPGATE_URL / STEPGATE_TOKEN, then
 * the default URL. This is the only place the admin commands read the environment; tests pass
 * their own `env`.
 */
export function resolveConnection(
  flags: ConnectionFlags,
  environment: Environment = process.env,
  readTextFile: ReadTextFile = (path) => readFileSync(path, 'utf8'),
): Connection {
  const secrets = resolveSecretFiles(environment, SECRET_VARIABLES, readTextFile);
  if (secrets.problems.length > 0) throw new UsageError(secrets.problems.join('; '));
  const env = secrets.env;
  const url = nonEmpty(flags.url) ?? nonEmpty(env.STEPGATE_URL) ?? DEFAULT_CONTROL_PLANE_URL;
  const token = nonEmpty(flags.token) ?? nonEmpty(env.STEPGATE_TOKEN);
  if (token === undefined) {
    throw new UsageError(
      'no API token: pass --token <token> or set STEPGATE_TOKEN or STEPGATE_TOKEN_FILE (both keep it out of shell history and `ps`)',
    );
  }
  // undici echoes an invalid header value in its error message; refuse it here, without
  // repeating it, so the token can never end up on screen or in a CI log.
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new UsageError(
      'the API token contains spaces or characters that cannot be sent in an HTTP header; check --token / STEPGATE_TOKEN',
    );
  }
  return { url: normalizeUrl(url), token };
}

function normalizeUrl(raw: string): string {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new UsageError(
      `invalid control-plane URL '${raw}': expected e.g. ${DEFAULT_CONTROL_PLANE_URL} (--url or STEPGATE_URL)`,
    );
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new UsageError(
      'the control-plane URL must not contain credentials: pass the token with --token or STEPGATE_TOKEN',
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(
      `invalid control-plane URL '${raw}': only http:// and https:// are supported`,
    );
  }
  if (parsed.search !== '' || parsed.hash !== '') {
    throw new UsageError(
      `invalid control-plane URL '${raw}': it must not have a query or fragment`,
    );
  }
  // Keep a path prefix (a control plane behind a reverse proxy under /stepgate) but no trailing
  // slash, so API paths can be appended as they are.
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
