import {
  chmodSync,
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Environment } from './connection.js';
import { UsageError } from './usage-error.js';

/** The profile `stepgate login` writes and every command reads when none is named. */
export const DEFAULT_PROFILE = 'default';

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A control plane and the API token to use with it. */
export interface Profile {
  url: string;
  token: string;
}

// Unknown fields are ignored, not refused: a newer CLI may have written them.
const profileSchema = z.object({ url: z.string(), token: z.string() });
const profileFileSchema = z.object({ profiles: z.looseObject({}) });

export interface ProfileFile {
  profiles: Record<string, Profile>;
}

/** `$XDG_CONFIG_HOME/stepgate/config.json`, else `~/.config/stepgate/config.json`. */
export function profilesPath(env: Environment): string {
  const xdg = env.XDG_CONFIG_HOME?.trim();
  // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const base =
    xdg !== undefined && xdg.startsWith('/') ? xdg : join(env.HOME ?? homedir(), '.config');
  return join(base, 'stepgate', 'config.json');
}

/** Checks a `--profile` / STEPGATE_PROFILE value. */
export function parseProfileName(name: string): string {
  const trimmed = name.trim();
  if (!PROFILE_NAME.test(trimmed)) {
    throw new UsageError(
      `'${name}' is not a profile name: use letters, digits, '.', '_' and '-' (at most 64), e.g. prod`,
    );
  }
  return trimmed;
}

/**
 * Reads the profile file; a missing file is an empty one. Like ssh with a private key, it
 * refuses a file others may read or write: it holds API tokens.
 */
export function readProfiles(path: string): ProfileFile {
  let text: string;
  try {
    const stat = statSync(path);
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(3, '0');
      throw new UsageError(
        `${path} holds API tokens but others may read or change it (mode ${mode}); run \`chmod 600 ${path}\` and try again`,
      );
    }
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { profiles: {} };
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UsageError(
      `${path} is not valid JSON; fix it, or remove it and run \`stepgate login\` again`,
    );
  }
  const notOurs = new UsageError(
    `${path} is not a Stepgate profile file (expected {"profiles": {"<name>": {"url", "token"}}}); fix it, or remove it and run \`stepgate login\` again`,
  );
  if (!profileFileSchema.safeParse(json).success) throw notOurs;
  // Read from JSON.parse's own keys into a null-prototype object, so a profile called
  // __proto__ or constructor is just a name.
  const profiles: Record<string, Profile> = Object.create(null) as Record<string, Profile>;
  for (const [name, value] of Object.entries((json as { profiles: object }).profiles)) {
    const profile = profileSchema.safeParse(value);
    if (!profile.success) throw notOurs;
    profiles[name] = { url: profile.data.url, token: profile.data.token };
  }
  return { profiles };
}

/**
 * Writes the profile file atomically: a new file with mode 0600 beside it, synced, then renamed
 * over the old one, so a crash leaves the old file or the new one, never half of either, and
 * the tokens are never readable by others, not even for a moment. The folder is made 0700.
 */
export function writeProfiles(path: string, file: ProfileFile): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // The stepgate folder is ours: narrow it even if an older tool made it wider.
  chmodSync(dir, 0o700);
  const temporary = join(dir, `.config.json.${randomBytes(6).toString('hex')}.tmp`);
  // Created 0600 (a umask can only narrow it), so the tokens are never readable by others.
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify({ profiles: { ...file.profiles } }, null, 2)}\n`);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(temporary);
    throw error;
  }
  closeSync(fd);
  renameSync(temporary, path);
}
