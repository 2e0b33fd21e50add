/**
 * Every secret variable of both apps has a working `<NAME>_FILE` variant (read once at start-up
 * through `resolveSecretFiles`), and every variable that looks like a secret is on the apps'
 * secret lists, so adding a secret without `_FILE` fails here.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  loadConfig as loadAgentConfig,
  SECRET_VARIABLES as AGENT_SECRETS,
} from '../../apps/agent/src/config.js';
import {
  resolveConnection,
  SECRET_VARIABLES as CLI_SECRETS,
} from '../../apps/cli/src/config/connection.js';
import {
  loadConfig as loadControlPlaneConfig,
  SECRET_VARIABLES as CONTROL_PLANE_SECRETS,
} from '../../apps/control-plane/src/config/configuration.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'stepgate-secret-files-'));

/** A valid value for each secret variable. */
const SAMPLES: Record<string, string> = {
  DATABASE_URL: 'postgresql://stepgate:pg-secret@db.example.com:5432/stepgate',
  REDIS_URL: 'redis://:redis-secret@redis.example.com:6379/2',
  STEPGATE_ADMIN_TOKEN: 'admin-token-0123456789abcdef',
  STEPGATE_SIGNING_KEY: '{"kty":"OKP","crv":"Ed25519","d":"x","x":"y"}',
  STEPGATE_SIGNING_KEY_PREVIOUS: '{"kty":"OKP","crv":"Ed25519","d":"p","x":"q"}',
  STEPGATE_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
  STEPGATE_SOURCE_URL: 'https://git:url-secret@git.example.com/policies.git',
  STEPGATE_SOURCE_PASSWORD: 'source-secret',
  STEPGATE_WEBHOOK_SECRET: 'webhook-secret-0123',
  STEPGATE_TERRAFORM_HMAC_KEY: 'terraform-hmac-key-0123',
  STEPGATE_GITHUB_APP_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\nMIIapp\n-----END PRIVATE KEY-----',
  STEPGATE_GITHUB_WEBHOOK_SECRET: 'github-webhook-secret-0123',
  STEPGATE_AGENT_TOKEN: 'sg_agent_token',
  STEPGATE_TOKEN: 'sg_cli_token',
};

/** Variables whose names look secret but hold none. */
const NOT_SECRET: Record<string, string> = {
  STEPGATE_TRUSTED_KEYS: 'the path of a JWKS of public keys',
  STEPGATE_TLS_KEY: 'the path of the PEM private key: a file already, reloaded when it changes',
  STEPGATE_URL: 'the control-plane address (the CLI refuses one with credentials)',
  STEPGATE_TERRAFORM_URL: 'HCP Terraform or a Terraform Enterprise origin (no credentials)',
  STEPGATE_PUBLIC_URL: 'where people reach the console, for links',
  STEPGATE_GITHUB_API_URL: "GitHub's REST API root (api.github.com or a GHES /api/v3)",
  ACTIONS_ID_TOKEN_REQUEST_URL:
    'set by the GitHub Actions runner (where a job asks for its OIDC token); not ours to name',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN:
    'set by the GitHub Actions runner for the job; never a file, and never stored by the CLI',
  STEPGATE_ID_TOKEN:
    "a CI job's OIDC token, minutes-lived, that GitLab's id_tokens puts in the environment; never stored",
  STEPGATE_ID_TOKEN_AUDIENCE: 'the audience to ask the runner for (no credential)',
};

/**
 * The GitHub App settings go together (id, private key, webhook secret: all or none): a case
 * that sets one of its secrets gets the others as stand-ins.
 */
function withGitHubApp(env: Record<string, string>): Record<string, string> {
  const names = ['STEPGATE_GITHUB_APP_PRIVATE_KEY', 'STEPGATE_GITHUB_WEBHOOK_SECRET'];
  const given = (name: string) => name in env || `${name}_FILE` in env;
  if (!names.some(given)) return env;
  const filled: Record<string, string> = { STEPGATE_GITHUB_APP_ID: '123456', ...env };
  for (const name of names) if (!given(name)) filled[name] = SAMPLES[name] as string;
  return filled;
}

function secretFile(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

interface App {
  name: string;
  secrets: readonly string[];
  load(env: Record<string, string>): unknown;
  /** Every variable the app reads, from its source. */
  variables(): string[];
}

const APPS: App[] = [
  {
    name: 'control plane',
    secrets: CONTROL_PLANE_SECRETS,
    load: (env) => loadControlPlaneConfig(withGitHubApp(env)),
    variables: () =>
      [
        ...readFileSync(
          join(repoRoot, 'apps/control-plane/src/config/configuration.ts'),
          'utf8',
        ).matchAll(/^ {2}([A-Z][A-Z0-9_]+): z\b/gm),
      ].map((match) => match[1] as string),
  },
  {
    name: 'agent',
    secrets: AGENT_SECRETS,
    // The token is required: a stand-in unless the case sets it (either way).
    load: (env) =>
      loadAgentConfig(
        Object.keys(env).some((name) => name.startsWith('STEPGATE_AGENT_TOKEN'))
          ? env
          : { STEPGATE_AGENT_TOKEN: 't', ...env },
        [],
      ),
    variables: () =>
      [
        ...readFileSync(join(repoRoot, 'apps/agent/src/config.ts'), 'utf8').matchAll(
          /\{ env: '([A-Z0-9_]+)' \}/g,
        ),
      ].map((match) => match[1] as string),
  },
  {
    name: 'CLI',
    secrets: CLI_SECRETS,
    load: (env) => resolveConnection({}, env),
    variables: () =>
      readdirSync(join(repoRoot, 'apps/cli/src'), { recursive: true, encoding: 'utf8' })
        .filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'))
        .flatMap((file) => [
          ...readFileSync(join(repoRoot, 'apps/cli/src', file), 'utf8').matchAll(
            /\benv\.([A-Z][A-Z0-9_]+)/g,
          ),
        ])
        .map((match) => match[1] as string),
  },
];

describe.each(APPS)('$name secrets', (app) => {
  it('lists every variable that looks like a secret', () => {
    const variables = app.variables();
    expect(variables.length).toBeGreaterThan(3);
    const secretLooking = variables.filter(
      (name) => /SECRET|KEY|TOKEN|PASSWORD|CREDENTIAL|_URL$/.test(name) && !(name in NOT_SECRET),
    );
    expect([...app.secrets].sort()).toEqual(expect.arrayContaining(secretLooking.sort()));
  });

  it.each([...app.secrets])('%s: the _FILE variant gives the same configuration', (name) => {
    const value = SAMPLES[name];
    if (value === undefined) throw new Error(`no sample value for ${name}: add one to SAMPLES`);
    const fromEnv = app.load({ [name]: value });
    const fromFile = app.load({ [`${name}_FILE`]: secretFile(name, `${value}\n`) });
    expect(fromFile).toEqual(fromEnv);
    expect(JSON.stringify(fromFile)).not.toContain(`${name}_FILE`);
  });

  it.each([...app.secrets])(
    '%s: both forms together, or an unreadable file, are refused',
    (name) => {
      const path = secretFile(`${name}-both`, SAMPLES[name] ?? 'x');
      expect(() => app.load({ [name]: SAMPLES[name] ?? 'x', [`${name}_FILE`]: path })).toThrow(
        `${name} and ${name}_FILE are both set`,
      );
      expect(() => app.load({ [`${name}_FILE`]: join(dir, 'missing') })).toThrow(
        `${name}_FILE: cannot read "${join(dir, 'missing')}" (ENOENT)`,
      );
    },
  );
});
