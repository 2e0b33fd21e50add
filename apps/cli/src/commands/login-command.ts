import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { resolveSecretFiles } from '@stepgate/protocol';
import { EXIT_OK, EXIT_REFUSED, reportFailure, type AdminIo } from '../api/admin-command-runner.js';
import { ControlPlaneClient, ControlPlaneError } from '../api/control-plane-client.js';
import { resolveConnection, SECRET_VARIABLES, type Environment } from '../config/connection.js';
import {
  DEFAULT_PROFILE,
  parseProfileName,
  profilesPath,
  readProfiles,
  writeProfiles,
} from '../config/profiles.js';
import { UsageError } from '../config/usage-error.js';
import { formatTable } from '../output/table.js';

/** What the profile commands touch; tests pass their own. */
export interface ProfileIo extends AdminIo {
  /** All of stdin (`--token-stdin`). */
  readStdin?: () => Promise<string>;
}

export interface LoginOptions {
  profile?: string;
  url?: string;
  token?: string;
  tokenStdin?: boolean;
  json?: boolean;
}

export interface ProfileOptions {
  profile?: string;
  json?: boolean;
}

function processIo(): ProfileIo {
  return { stdout: process.stdout, stderr: process.stderr, readStdin: () => readAll() };
}

async function readAll(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += (chunk as Buffer).toString('utf8');
  return text;
}

/**
 * `stepgate login`: checks a control-plane URL and token (the control plane answers and
 * accepts the token) and saves them as a profile. The token is never printed.
 */
export async function loginCommand(
  options: LoginOptions,
  io: ProfileIo = processIo(),
): Promise<number> {
  let token: string | undefined;
  const redact = (text: string): string =>
    token === undefined || token.length < 8 ? text : text.split(token).join('<token>');
  try {
    const env = io.env ?? process.env;
    const name = profileNameOf(options.profile, env);
    const path = profilesPath(env);
    const file = readProfiles(path);
    const secrets = resolveSecretFiles(env, SECRET_VARIABLES, (p) => readFileSync(p, 'utf8'));
    if (secrets.problems.length > 0) throw new UsageError(secrets.problems.join('; '));
    if (options.tokenStdin === true && options.token !== undefined) {
      throw new UsageError('give the token once: --token-stdin or --token, not both');
    }
    token =
      options.tokenStdin === true
        ? (await (io.readStdin ?? readAll)()).trim()
        : (options.token ?? secrets.env.STEPGATE_TOKEN)?.trim();
    if (token === undefined || token === '') {
      throw new UsageError(
        'no token to save: pipe it in with --token-stdin (e.g. `cat token.txt | stepgate login --token-stdin`), or set STEPGATE_TOKEN or STEPGATE_TOKEN_FILE',
      );
    }
    const url = options.url ?? env.STEPGATE_URL ?? file.profiles[name]?.url;
    if (url === undefined || url.trim() === '') {
      throw new UsageError(
        'which control plane? give --url <url>, e.g. https://stepgate.example.com',
      );
    }
    // Checks both like every command does (a URL without credentials, a token fit for a header).
    const connection = resolveConnection({ url, token }, {});
    const client = new ControlPlaneClient(connection, { fetch: io.fetch, timeoutMs: io.timeoutMs });
    const { ready } = await client.health();
    let note = '';
    try {
      await client.listVersions({ limit: 1 });
    } catch (error) {
      // A token without viewer scope (an approver's, an agent's) is still a valid token.
      if (!(error instanceof ControlPlaneError && error.status === 403)) throw error;
      note = ' (the token is valid but may not read versions: it lacks the viewer scope)';
    }
    file.profiles[name] = { url: connection.url, token: connection.token };
    writeProfiles(path, file);
    const data = { profile: name, url: connection.url, path, ready: ready.status === 'ready' };
    io.stdout.write(
      options.json === true
        ? `${JSON.stringify(data, null, 2)}\n`
        : `Logged in to ${connection.url} as profile '${name}'${note}; saved in ${path}\n`,
    );
    return EXIT_OK;
  } catch (error) {
    const exit = reportFailure('login', error, io, redact, EXIT_REFUSED, options.json === true);
    if (exit === undefined) throw error;
    return exit;
  }
}

/** `stepgate logout`: forgets a profile (the token stays valid until revoked). */
export async function logoutCommand(
  options: ProfileOptions,
  io: AdminIo = processIo(),
): Promise<number> {
  return runLocal('logout', options, io, () => {
    const env = io.env ?? process.env;
    const name = profileNameOf(options.profile, env);
    const path = profilesPath(env);
    const file = readProfiles(path);
    if (file.profiles[name] === undefined) {
      throw new UsageError(`no profile '${name}' in ${path}; \`stepgate profiles\` lists them`);
    }
    delete file.profiles[name];
    writeProfiles(path, file);
    return {
      data: { profile: name, removed: true },
      text: `Removed profile '${name}' from ${path}. The token itself stays valid until it is revoked (stepgate tokens revoke <id>).`,
    };
  });
}

/** `stepgate profiles`: the saved profiles with their URLs, never their tokens. */
export async function profilesCommand(
  options: ProfileOptions,
  io: AdminIo = processIo(),
): Promise<number> {
  return runLocal('profiles', options, io, () => {
    const env = io.env ?? process.env;
    const path = profilesPath(env);
    const current = profileNameOf(undefined, env);
    const profiles = Object.entries(readProfiles(path).profiles)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, profile]) => ({ name, url: profile.url, current: name === current }));
    return {
      data: { path, profiles },
      text:
        profiles.length === 0
          ? `No profiles in ${path}; save one with \`stepgate login --url <url> --token-stdin\`.`
          : formatTable(
              [
                { header: '', value: (p) => (p.current ? '*' : '') },
                { header: 'PROFILE', value: (p) => p.name },
                { header: 'URL', value: (p) => p.url },
              ],
              profiles,
            ),
    };
  });
}

function profileNameOf(flag: string | undefined, env: Environment): string {
  const given = flag?.trim() || env.STEPGATE_PROFILE?.trim() || DEFAULT_PROFILE;
  return parseProfileName(given);
}

async function runLocal(
  name: string,
  options: ProfileOptions,
  io: AdminIo,
  run: () => { data: unknown; text: string },
): Promise<number> {
  try {
    const output = run();
    io.stdout.write(
      options.json === true ? `${JSON.stringify(output.data, null, 2)}\n` : `${output.text}\n`,
    );
    return EXIT_OK;
  } catch (error) {
    const exit = reportFailure(
      name,
      error,
      io,
      (text) => text,
      EXIT_REFUSED,
      options.json === true,
    );
    if (exit === undefined) throw error;
    return exit;
  }
}

export function registerLoginCommands(program: Command): void {
  program
    .command('login')
    .description(
      'check a control-plane URL and API token and save them as a profile (file mode 0600)',
    )
    .option(
      '--profile <name>',
      `the profile to save (default: $STEPGATE_PROFILE, else "${DEFAULT_PROFILE}")`,
    )
    .option('--url <url>', "control-plane URL (default: $STEPGATE_URL, else the profile's)")
    .option('--token-stdin', 'read the token from stdin (keeps it out of shell history and `ps`)')
    .option('--token <token>', 'the token (default: $STEPGATE_TOKEN or $STEPGATE_TOKEN_FILE)')
    .option('--json', 'print the saved profile (never the token) as JSON')
    .action(async (options: LoginOptions) => {
      process.exitCode = await loginCommand(options);
    });
  program
    .command('logout')
    .description('forget a saved profile (the token stays valid until revoked)')
    .option(
      '--profile <name>',
      `the profile to forget (default: $STEPGATE_PROFILE, else "${DEFAULT_PROFILE}")`,
    )
    .option('--json', 'print the result as JSON')
    .action(async (options: ProfileOptions) => {
      process.exitCode = await logoutCommand(options);
    });
  program
    .command('profiles')
    .description('list saved profiles and their URLs (never tokens); * marks the one in use')
    .option('--json', 'print the profiles as JSON')
    .action(async (options: ProfileOptions) => {
      process.exitCode = await profilesCommand(options);
    });
}
