import { readFileSync } from 'node:fs';
import { resolveSecretFiles, type ReadTextFile } from '@stepgate/protocol';
import { DEFAULT_PROFILE, parseProfileName, profilesPath, readProfiles } from './profiles.js';
import { UsageError } from './usage-error.js';

/** Where the control plane listens when neither `--url` nor STEPGATE_URL says otherwise. */
export const DEFAULT_CONTROL_PLANE_URL = 'http://localhost:8181';

/** The connection flags every admin command accepts. */
export interface ConnectionFlags {
  url?: string;
  token?: string;
  /** A profile saved by `stepgate login`. */
  profile?: string;
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
 * Resolves the control-plane connection, each of URL and token from the first place that has
 * it: the `--url` / `--token` flags; the profile named by `--profile` (a flag, so it outranks
 * the environment); STEPGATE_URL / STEPGATE_TOKEN(_FILE); the profile named by
 * STEPGATE_PROFILE, else the `default` profile; the default URL. A profile's token is only
 * ever sent to that profile's URL. This is the only place the admin commands read the
 * environment; tests pass their own `env` (XDG_CONFIG_HOME or HOME locate the profiles).
 */
export function resolveConnection(
  flags: ConnectionFlags,
  environment: Environment = process.env,
  readTextFile: ReadTextFile = (path) => readFileSync(path, 'utf8'),
): Connection {
  const secrets = resolveSecretFiles(environment, SECRET_VARIABLES, readTextFile);
  if (secrets.problems.length > 0) throw new UsageError(secrets.problems.join('; '));
  const env = secrets.env;
  const flagUrl = nonEmpty(flags.url);
  const flagToken = nonEmpty(flags.token);
  const named = nonEmpty(flags.profile);
  const envUrl = named === undefined ? nonEmpty(env.STEPGATE_URL) : undefined;
  const envToken = named === undefined ? nonEmpty(env.STEPGATE_TOKEN) : undefined;
  let url = flagUrl ?? envUrl;
  let token = flagToken ?? envToken;
  if (url === undefined || token === undefined) {
    const profileName = named ?? nonEmpty(env.STEPGATE_PROFILE);
    const name = parseProfileName(profileName ?? DEFAULT_PROFILE);
    const path = profilesPath(env);
    const profile = readProfiles(path).profiles[name];
    if (profile === undefined && profileName !== undefined) {
      throw new UsageError(
        `no profile '${name}' in ${path}: run \`stepgate login --profile ${name} --url <url> --token-stdin\`, or \`stepgate profiles\` to list them`,
      );
    }
    // A token from elsewhere goes to the default profile's URL only if that profile was named.
    if (profile !== undefined && (token === undefined || profileName !== undefined)) {
      if (token === undefined) {
        // The token belongs to the profile's control plane: never hand it to another one.
        if (url !== undefined && normalizeUrl(url) !== normalizeUrl(profile.url)) {
          throw new UsageError(
            `profile '${name}' holds a token for ${profile.url}, not for ${url} (from ${flagUrl === undefined ? 'STEPGATE_URL' : '--url'}); give a token for it with --token or STEPGATE_TOKEN, or \`stepgate login --profile <name> --url ${url}\``,
          );
        }
        token = nonEmpty(profile.token);
      }
      url ??= profile.url;
    }
  }
  url ??= DEFAULT_CONTROL_PLANE_URL;
  if (token === undefined) {
    throw new UsageError(
      'no API token: run `stepgate login`, or pass --token <token>, or set STEPGATE_TOKEN or STEPGATE_TOKEN_FILE (login and the variables keep it out of shell history and `ps`)',
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
