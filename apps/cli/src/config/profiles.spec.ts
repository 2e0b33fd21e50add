import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONTROL_PLANE_URL, resolveConnection } from './connection.js';
import { profilesPath, readProfiles, writeProfiles } from './profiles.js';
import { UsageError } from './usage-error.js';

let home: string;
let env: Record<string, string>;
let path: string;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'stepgate-profiles-'));
  env = { HOME: home };
  path = profilesPath(env);
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const mode = (file: string): number => statSync(file).mode & 0o777;

function save(profiles: Record<string, { url: string; token: string }>): void {
  writeProfiles(path, { profiles });
}

describe('profile storage', () => {
  it('lives in ~/.config/stepgate/config.json, or under an absolute XDG_CONFIG_HOME', () => {
    expect(path).toBe(join(home, '.config', 'stepgate', 'config.json'));
    expect(profilesPath({ HOME: home, XDG_CONFIG_HOME: '/etc/xdg-test' })).toBe(
      '/etc/xdg-test/stepgate/config.json',
    );
    // The XDG spec: a relative value is invalid and ignored.
    expect(profilesPath({ HOME: home, XDG_CONFIG_HOME: 'relative' })).toBe(path);
  });

  it('writes the file 0600 in a 0700 folder, whatever the umask, and leaves no temporary file', () => {
    const old = process.umask(0o000);
    try {
      save({ default: { url: 'http://cp:8181', token: 'sg_secret_token_1' } });
    } finally {
      process.umask(old);
    }
    expect(mode(path)).toBe(0o600);
    expect(mode(join(home, '.config', 'stepgate'))).toBe(0o700);
    expect(readdirSync(join(home, '.config', 'stepgate'))).toEqual(['config.json']);
    expect(readProfiles(path).profiles.default).toEqual({
      url: 'http://cp:8181',
      token: 'sg_secret_token_1',
    });
  });

  it('narrows a stepgate folder an older tool left open, and replaces the file whole', () => {
    mkdirSync(join(home, '.config', 'stepgate'), { recursive: true, mode: 0o755 });
    chmodSync(join(home, '.config', 'stepgate'), 0o755);
    save({ a: { url: 'http://a', token: 'sg_aaaaaaaaaa' } });
    save({ b: { url: 'http://b', token: 'sg_bbbbbbbbbb' } });
    expect(mode(join(home, '.config', 'stepgate'))).toBe(0o700);
    expect(Object.keys(readProfiles(path).profiles)).toEqual(['b']);
  });

  it('reads a missing file as no profiles', () => {
    expect(readProfiles(path)).toEqual({ profiles: {} });
  });

  it('refuses a file others may read or write, saying how to fix it, without its tokens', () => {
    save({ default: { url: 'http://cp', token: 'sg_secret_token_2' } });
    for (const loose of [0o644, 0o640, 0o604, 0o620]) {
      chmodSync(path, loose);
      const read = () => readProfiles(path);
      expect(read).toThrow(UsageError);
      expect(read).toThrow(`chmod 600 ${path}`);
      expect(read).toThrow(`mode ${loose.toString(8)}`);
      expect(read).not.toThrow(/sg_secret/);
    }
    chmodSync(path, 0o400);
    expect(readProfiles(path).profiles.default?.url).toBe('http://cp');
  });

  it('explains a file that is not JSON or not a profile file', () => {
    mkdirSync(join(home, '.config', 'stepgate'), { recursive: true });
    writeFileSync(path, '{nope', { mode: 0o600 });
    expect(() => readProfiles(path)).toThrow(/not valid JSON/);
    writeFileSync(path, '{"default": {"url": "x"}}', { mode: 0o600 });
    expect(() => readProfiles(path)).toThrow(/not a Stepgate profile file/);
  });

  it('keeps __proto__ an ordinary profile name', () => {
    mkdirSync(join(home, '.config', 'stepgate'), { recursive: true });
    writeFileSync(path, '{"profiles": {"__proto__": {"url": "http://p", "token": "t"}}}', {
      mode: 0o600,
    });
    const { profiles } = readProfiles(path);
    expect(Object.keys(profiles)).toEqual(['__proto__']);
    expect(readFileSync(path, 'utf8')).toContain('__proto__');
  });
});

describe('resolveConnection with profiles', () => {
  beforeEach(() =>
    save({
      default: { url: 'http://default-cp:8181', token: 'sg_default_token' },
      prod: { url: 'https://prod.example/', token: 'sg_prod_token_' },
    }),
  );

  it('uses the default profile when neither flags nor the environment say anything', () => {
    expect(resolveConnection({}, env)).toEqual({
      url: 'http://default-cp:8181',
      token: 'sg_default_token',
    });
  });

  it('takes the profile named by STEPGATE_PROFILE over the default one', () => {
    expect(resolveConnection({}, { ...env, STEPGATE_PROFILE: 'prod' })).toEqual({
      url: 'https://prod.example',
      token: 'sg_prod_token_',
    });
  });

  it('prefers STEPGATE_URL / STEPGATE_TOKEN over STEPGATE_PROFILE and the default profile', () => {
    const fromEnv = { ...env, STEPGATE_URL: 'http://env:1', STEPGATE_TOKEN: 'sg_env_token' };
    expect(resolveConnection({}, fromEnv)).toEqual({ url: 'http://env:1', token: 'sg_env_token' });
    expect(resolveConnection({}, { ...fromEnv, STEPGATE_PROFILE: 'prod' })).toEqual({
      url: 'http://env:1',
      token: 'sg_env_token',
    });
  });

  it('an env token without a URL goes to the default URL, not to the default profile', () => {
    expect(resolveConnection({}, { ...env, STEPGATE_TOKEN: 'sg_env_token' })).toEqual({
      url: DEFAULT_CONTROL_PLANE_URL,
      token: 'sg_env_token',
    });
  });

  it('prefers an explicit --profile over the environment, and --url/--token over all', () => {
    const fromEnv = { ...env, STEPGATE_URL: 'http://env:1', STEPGATE_TOKEN: 'sg_env_token' };
    expect(resolveConnection({ profile: 'prod' }, fromEnv)).toEqual({
      url: 'https://prod.example',
      token: 'sg_prod_token_',
    });
    expect(
      resolveConnection({ profile: 'prod', url: 'http://flag:2', token: 'sg_flag_token' }, fromEnv),
    ).toEqual({ url: 'http://flag:2', token: 'sg_flag_token' });
    // A flag token with the profile's URL.
    expect(resolveConnection({ profile: 'prod', token: 'sg_flag_token' }, env)).toEqual({
      url: 'https://prod.example',
      token: 'sg_flag_token',
    });
  });

  it("never sends a profile's token to another URL", () => {
    const elsewhere = () => resolveConnection({ url: 'https://evil.example' }, env);
    expect(elsewhere).toThrow(UsageError);
    expect(elsewhere).toThrow(/holds a token for http:\/\/default-cp:8181/);
    expect(elsewhere).not.toThrow(/sg_default/);
    expect(() =>
      resolveConnection(
        {},
        { ...env, STEPGATE_URL: 'https://evil.example', STEPGATE_PROFILE: 'prod' },
      ),
    ).toThrow(/STEPGATE_URL/);
    // The same control plane written differently is the same URL.
    expect(resolveConnection({ url: 'https://prod.example', profile: 'prod' }, env).token).toBe(
      'sg_prod_token_',
    );
  });

  it('names a missing profile and how to create it; a missing default is just no token', () => {
    expect(() => resolveConnection({ profile: 'staging' }, env)).toThrow(
      /no profile 'staging'.*stepgate login --profile staging/,
    );
    expect(() => resolveConnection({}, { ...env, STEPGATE_PROFILE: 'staging' })).toThrow(
      /no profile 'staging'/,
    );
    expect(() => resolveConnection({ profile: '../x' }, env)).toThrow(/not a profile name/);
    rmSync(path);
    expect(() => resolveConnection({}, env)).toThrow(/no API token: run `stepgate login`/);
  });

  it('refuses a loose profile file only when it needs it', () => {
    chmodSync(path, 0o644);
    expect(() => resolveConnection({}, env)).toThrow(/chmod 600/);
    const flags = { url: 'http://x', token: 'sg_flag_token' };
    expect(resolveConnection(flags, env)).toEqual(flags);
  });
});
