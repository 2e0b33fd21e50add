import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA_SOURCE_ENV_PREFIX, notADuration, parseCidr, parseDuration } from '@stepgate/policy';
import {
  LOG_LEVELS,
  resolveSecretFiles,
  type LogLevel,
  type ReadTextFile,
} from '@stepgate/protocol';
import { z } from 'zod';
import {
  parseOutboundPolicy,
  PUBLIC_ONLY,
  urlHostProblem,
  type OutboundPolicy,
} from '../common/outbound-guard.js';
import { splitCredentials } from '../common/source-url.js';

/**
 * The control plane's whole configuration, parsed and validated once at start-up.
 * Nothing else in the app reads process.env.
 */
const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/**
 * A duration setting in the policy grammar (`90s`, `5m`, `1h30m`), as a whole number of `unit`.
 * A bare number is refused like everywhere else: the unit is always written.
 */
function duration(unit: 'seconds' | 'milliseconds') {
  const perSecond = unit === 'seconds' ? 1 : 1000;
  return z.string().transform((text, context) => {
    const seconds = parseDuration(text);
    if (seconds === undefined) {
      context.addIssue({ code: 'custom', message: notADuration(text) });
      return z.NEVER;
    }
    const value = Math.round(seconds * perSecond);
    // Rounding only absorbs float noise (`7ms` is 0.007 s); `1500ms` as seconds is refused.
    if (Math.abs(value - seconds * perSecond) > 1e-6) {
      context.addIssue({
        code: 'custom',
        message: `${JSON.stringify(text)} is not a whole number of ${unit}`,
      });
      return z.NEVER;
    }
    return value;
  });
}

const seconds = duration('seconds');
const milliseconds = duration('milliseconds');

const environmentSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8181),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/ })
    .default('postgresql://postgres@127.0.0.1:5432/stepgate'),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
  /** Prefix of every Redis key (BullMQ queues, socket.io), so several deployments or test runs share one Redis. */
  STEPGATE_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/)
    .default('stepgate'),
  STEPGATE_ADMIN_TOKEN: z
    .string()
    .min(20, 'STEPGATE_ADMIN_TOKEN must be at least 20 characters')
    .optional(),
  STEPGATE_DATA_DIR: z.string().default('.stepgate'),
  /** Folder whose files seed the embedded policy repository on first start. */
  STEPGATE_POLICY_SEED_DIR: z.string().default('policies'),
  STEPGATE_SIGNING_KEY: z.string().optional(),
  /** 32 random bytes, base64: encrypts Git credentials and webhook secrets at rest. */
  STEPGATE_SECRET_KEY: z
    .string()
    .refine(
      (v) => Buffer.from(v, 'base64').length === 32,
      'STEPGATE_SECRET_KEY must be 32 bytes, base64-encoded (openssl rand -base64 32)',
    )
    .optional(),
  /**
   * The signing key used before STEPGATE_SIGNING_KEY, during a rotation: it endorses the new
   * key once (stored), so agents that trust it accept the new one. Remove it afterwards.
   */
  STEPGATE_SIGNING_KEY_PREVIOUS: z.string().optional(),
  STEPGATE_AUTO_ACTIVATE: booleanFlag.default(true),
  STEPGATE_POLL_INTERVAL: seconds.default(60),
  STEPGATE_MAX_BUNDLE_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(8 * 1024 * 1024),
  /** Compiling and testing one commit runs in a worker thread with this time limit... */
  STEPGATE_POLICY_TEST_TIMEOUT: seconds
    .refine((value) => value >= 1, 'STEPGATE_POLICY_TEST_TIMEOUT must be at least 1s')
    .default(30),
  /** ...and this heap limit in MiB. */
  STEPGATE_POLICY_TEST_MEMORY: z.coerce.number().int().min(64).default(512),
  /**
   * Worker threads a replay's window is split over (each decides its own time slice with its
   * own PostgreSQL connection); 1 replays in process. Default: the cores, at most 4.
   */
  STEPGATE_REPLAY_WORKERS: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(Math.min(availableParallelism(), 4)),
  /** A window of fewer records is replayed in process: starting workers would cost more. */
  STEPGATE_REPLAY_WORKER_MIN_RECORDS: z.coerce.number().int().min(0).default(50_000),
  /** A remote policy source configured at start-up (more can be added through the API). */
  STEPGATE_SOURCE_URL: z.url({ protocol: /^https?$/ }).optional(),
  STEPGATE_SOURCE_BRANCH: z.string().default('main'),
  STEPGATE_SOURCE_PATH: z.string().default('.'),
  STEPGATE_SOURCE_USERNAME: z.string().optional(),
  STEPGATE_SOURCE_PASSWORD: z.string().optional(),
  /**
   * Private and loopback addresses the control plane may fetch from (Git sources, issuers'
   * JWKS): `true`, or comma-separated CIDRs; default none. Link-local and metadata never.
   */
  STEPGATE_ALLOW_PRIVATE_URLS: z.string().optional(),
  STEPGATE_WEBHOOK_SECRET: z
    .string()
    .min(16, 'STEPGATE_WEBHOOK_SECRET must be at least 16 characters')
    .optional(),
  /**
   * Private and loopback networks data sources (stepgate.yaml dataSources) may be fetched from:
   * comma-separated CIDRs; default none. Link-local and metadata addresses never.
   */
  STEPGATE_DATA_SOURCE_ALLOWED_NETWORKS: z.string().optional(),
  /** Where the console's built files are (default apps/console/dist of this workspace). */
  STEPGATE_CONSOLE_DIR: z.string().min(1).optional(),
  /** WebAuthn relying party: the domain credentials are bound to, shown name, and accepted origins (comma-separated). */
  STEPGATE_WEBAUTHN_RP_ID: z
    .string()
    .regex(/^[A-Za-z0-9.-]{1,253}$/, 'STEPGATE_WEBAUTHN_RP_ID is a bare domain like example.com')
    .default('localhost'),
  STEPGATE_WEBAUTHN_RP_NAME: z.string().min(1).max(64).default('Stepgate'),
  STEPGATE_WEBAUTHN_ORIGIN: z
    .string()
    .refine(
      (v) => v.split(',').every((origin) => /^https?:\/\/[^/\s]+$/.test(origin.trim())),
      'STEPGATE_WEBAUTHN_ORIGIN is one or more origins like https://stepgate.example.com, comma-separated',
    )
    .default('http://localhost:8181'),
  /** How long a WebAuthn challenge may be answered. */
  STEPGATE_WEBAUTHN_CHALLENGE_TTL: seconds
    .refine((value) => value >= 10 && value <= 600, 'STEPGATE_WEBAUTHN_CHALLENGE_TTL is 10s-10m')
    .default(120),
  /** Wrong TOTP codes in a row before the factor locks, and for how long. */
  STEPGATE_TOTP_MAX_FAILURES: z.coerce.number().int().min(1).max(100).default(5),
  STEPGATE_TOTP_LOCKOUT: seconds
    .refine((value) => value >= 1, 'STEPGATE_TOTP_LOCKOUT must be at least 1s')
    .default(300),
  /** How long decision logs are kept (by decision time); older rows are deleted periodically. */
  STEPGATE_DECISION_RETENTION: seconds
    .refine((value) => value >= 60, 'STEPGATE_DECISION_RETENTION must be at least 60s')
    .default(30 * 86_400),
  /** First retry delay of a failed decision-log write; retries double up to 30 times this. */
  STEPGATE_INGEST_RETRY_BASE: milliseconds
    .refine(
      (value) => value >= 10 && value <= 60_000,
      'STEPGATE_INGEST_RETRY_BASE must be between 10ms and 1m',
    )
    .default(1000),
  /** Lifetime of a grant when the elevation or approval asks for none. */
  STEPGATE_GRANT_TTL: seconds
    .refine((value) => value >= 30, 'STEPGATE_GRANT_TTL must be at least 30s')
    .default(15 * 60),
  /** No grant lives longer than this, whatever was asked for. */
  STEPGATE_GRANT_MAX_TTL: seconds
    .refine((value) => value >= 30, 'STEPGATE_GRANT_MAX_TTL must be at least 30s')
    .default(3600),
  /** How long an approval request stays open when the requester asks for no other time. */
  STEPGATE_APPROVAL_TTL: seconds
    .refine((value) => value >= 30, 'STEPGATE_APPROVAL_TTL must be at least 30s')
    .default(3600),
  /** How often open approval requests past their expiry are marked expired. */
  STEPGATE_APPROVAL_SWEEP_INTERVAL: seconds
    .refine((value) => value >= 1, 'STEPGATE_APPROVAL_SWEEP_INTERVAL must be at least 1s')
    .default(60),
  /** How long fetched issuer JWKS are reused before they are fetched again (and rotations pushed). */
  STEPGATE_JWKS_REFRESH: seconds
    .refine((value) => value >= 1, 'STEPGATE_JWKS_REFRESH must be at least 1s')
    .default(600),
  /** `off` lets rollback, activation and token creation skip the admin step-up (break-glass). */
  STEPGATE_ADMIN_STEP_UP: z.enum(['on', 'off']).default('on'),
  /** Events a token may post to /v1/events per second, shared by every replica (429 past it). */
  STEPGATE_EVENTS_RATE_LIMIT: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
  STEPGATE_LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** How often pending pipeline gates (GitHub deployments, Terraform runs) are decided again. */
  STEPGATE_PIPELINE_GATE_POLL_INTERVAL: milliseconds
    .refine(
      (value) => value >= 50 && value <= 60_000,
      'STEPGATE_PIPELINE_GATE_POLL_INTERVAL must be between 50ms and 1m',
    )
    .default(2000),
  /** How long a pipeline gate waits for a step-up before it is rejected. */
  STEPGATE_PIPELINE_GATE_TTL: seconds
    .refine(
      (value) => value >= 1 && value <= 7 * 86_400,
      'STEPGATE_PIPELINE_GATE_TTL must be between 1s and 7d',
    )
    .default(3600),
  /** The URL people reach the control plane at (links in GitHub comments to the console). */
  STEPGATE_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** GitHub App of the deployment protection rule: its id, private key and webhook secret. */
  STEPGATE_GITHUB_APP_ID: z
    .string()
    .regex(/^\d{1,20}$/, "STEPGATE_GITHUB_APP_ID is the App's numeric id")
    .optional(),
  STEPGATE_GITHUB_APP_PRIVATE_KEY: z.string().optional(),
  STEPGATE_GITHUB_WEBHOOK_SECRET: z
    .string()
    .min(16, 'STEPGATE_GITHUB_WEBHOOK_SECRET must be at least 16 characters')
    .optional(),
  /** The REST API root: https://api.github.com, or https://<host>/api/v3 for GitHub Enterprise Server. */
  STEPGATE_GITHUB_API_URL: z.url({ protocol: /^https?$/ }).default('https://api.github.com'),
  /**
   * HCP Terraform / Terraform Enterprise run task: the HMAC key set on the run task (turns the
   * integration on), the API's URL (callback and plan URLs must be on it), how long a run
   * waits for a step-up (HCP Terraform errors a task after 60 minutes), and how often a
   * waiting run is told it is still running (it errors after 10 minutes without an update).
   */
  STEPGATE_TERRAFORM_HMAC_KEY: z
    .string()
    .min(16, 'STEPGATE_TERRAFORM_HMAC_KEY must be at least 16 characters')
    .optional(),
  STEPGATE_TERRAFORM_URL: z.url({ protocol: /^https?$/ }).default('https://app.terraform.io'),
  STEPGATE_TERRAFORM_STEP_UP_TIMEOUT: seconds
    .refine(
      (value) => value >= 1 && value <= 55 * 60,
      'STEPGATE_TERRAFORM_STEP_UP_TIMEOUT must be between 1s and 55m (HCP Terraform gives a run task 60 minutes)',
    )
    .default(30 * 60),
  STEPGATE_TERRAFORM_HEARTBEAT: milliseconds
    .refine(
      (value) => value >= 100 && value <= 9 * 60_000,
      'STEPGATE_TERRAFORM_HEARTBEAT must be between 100ms and 9m (HCP Terraform wants an update every 10 minutes)',
    )
    .default(5 * 60_000),
  /** Serve HTTPS with this certificate (PEM, chain first) and key; reloaded when they change. */
  STEPGATE_TLS_CERT: z.string().optional(),
  STEPGATE_TLS_KEY: z.string().optional(),
});

export interface AppConfig {
  /** The console's built files, served at /console. */
  consoleDir: string;
  port: number;
  host: string;
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  adminToken?: string;
  dataDir: string;
  policySeedDir: string;
  signingKey?: string;
  /** The previous signing key, while rotating (see SigningKeyService). */
  signingKeyPrevious?: string;
  secretKey?: string;
  autoActivate: boolean;
  pollIntervalSeconds: number;
  maxBundleBytes: number;
  /** Limits of the worker thread that compiles and tests each commit. */
  policyTest: { timeoutSeconds: number; memoryMb: number };
  /** Replays: worker threads per replay, and the fewest records worth starting them for. */
  replay: { workers: number; minRecords: number };
  /** Built-in elevation: WebAuthn relying party and TOTP throttling. */
  elevation: {
    rpId: string;
    rpName: string;
    origins: string[];
    challengeTtlSeconds: number;
    totpMaxFailures: number;
    totpLockoutSeconds: number;
  };
  remoteSource?: {
    url: string;
    branch: string;
    path: string;
    username?: string;
    password?: string;
  };
  webhookSecret?: string;
  /** Where fetches of Git sources and JWKS may connect (STEPGATE_ALLOW_PRIVATE_URLS). */
  outbound: OutboundPolicy;
  /** Data sources: where fetches may connect, and the variables their headers may reference. */
  dataSources: {
    /** STEPGATE_DATA_SOURCE_ALLOWED_NETWORKS. */
    outbound: OutboundPolicy;
    /** The `DATA_SOURCE_*` environment variables, read once here. */
    env: Readonly<Record<string, string>>;
  };
  /** Decision logs older than this many seconds are deleted. */
  decisionRetentionSeconds: number;
  /** First retry delay of a decision-log write (ms); retries double up to 30 times this. */
  ingestRetryBaseMs: number;
  /** Grant lifetime when none is asked for, and the cap on any asked for (seconds). */
  grantTtlSeconds: number;
  grantMaxTtlSeconds: number;
  /** Default lifetime of an approval request, and the expiry sweep's period (seconds). */
  approvalTtlSeconds: number;
  approvalSweepIntervalSeconds: number;
  /** Seconds a fetched issuer JWKS is reused before it is fetched again. */
  jwksRefreshSeconds: number;
  /** Whether admin actions are checked against the active policies (STEPGATE_ADMIN_STEP_UP). */
  adminStepUp: boolean;
  /** Events one token may post per second (STEPGATE_EVENTS_RATE_LIMIT). */
  eventsRateLimit: number;
  logLevel: LogLevel;
  /** Pipeline gates: the re-decision period (ms) and how long a gate waits (seconds). */
  pipelineGates: { pollIntervalMs: number; ttlSeconds: number };
  /** Where people reach the control plane (STEPGATE_PUBLIC_URL, else http://localhost:<port>). */
  publicUrl: string;
  /** The GitHub App of the deployment protection rule; undefined: the integration is off. */
  github?: { appId: string; privateKey: string; webhookSecret: string; apiUrl: string };
  /** PEM files to serve HTTPS with (STEPGATE_TLS_CERT, STEPGATE_TLS_KEY); undefined: HTTP. */
  tls?: { certFile: string; keyFile: string };
  /** The HCP Terraform run task; undefined (no STEPGATE_TERRAFORM_HMAC_KEY): the route is off. */
  terraform?: {
    hmacKey: string;
    /** The API's origin, e.g. https://app.terraform.io. */
    url: string;
    stepUpTimeoutSeconds: number;
    heartbeatMs: number;
  };
}

export class ConfigError extends Error {}

/**
 * The variables that hold a secret (or a URL that may carry a password): each also accepts
 * `<NAME>_FILE`, a file holding the value, read once here.
 */
export const SECRET_VARIABLES = [
  'DATABASE_URL',
  'REDIS_URL',
  'STEPGATE_ADMIN_TOKEN',
  'STEPGATE_SIGNING_KEY',
  'STEPGATE_SIGNING_KEY_PREVIOUS',
  'STEPGATE_SECRET_KEY',
  'STEPGATE_SOURCE_URL',
  'STEPGATE_SOURCE_PASSWORD',
  'STEPGATE_WEBHOOK_SECRET',
  'STEPGATE_GITHUB_APP_PRIVATE_KEY',
  'STEPGATE_GITHUB_WEBHOOK_SECRET',
  'STEPGATE_TERRAFORM_HMAC_KEY',
] as const;

/** Parses the environment; throws ConfigError naming every bad variable. */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  readTextFile: ReadTextFile = (path) => readFileSync(path, 'utf8'),
): AppConfig {
  const secrets = resolveSecretFiles(env, SECRET_VARIABLES, readTextFile);
  if (secrets.problems.length > 0)
    throw new ConfigError(`invalid configuration: ${secrets.problems.join('; ')}`);
  const cleaned = Object.fromEntries(
    Object.entries(secrets.env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = environmentSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  let outbound: OutboundPolicy;
  try {
    outbound = parseOutboundPolicy(e.STEPGATE_ALLOW_PRIVATE_URLS);
  } catch (error) {
    throw new ConfigError(`invalid configuration: ${(error as Error).message}`);
  }
  let dataSourceOutbound: OutboundPolicy;
  try {
    dataSourceOutbound = parseAllowedNetworks(e.STEPGATE_DATA_SOURCE_ALLOWED_NETWORKS);
  } catch (error) {
    throw new ConfigError(`invalid configuration: ${(error as Error).message}`);
  }
  const config: AppConfig = {
    dataSources: { outbound: dataSourceOutbound, env: dataSourceEnv(env) },
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.STEPGATE_REDIS_PREFIX,
    elevation: {
      rpId: e.STEPGATE_WEBAUTHN_RP_ID,
      rpName: e.STEPGATE_WEBAUTHN_RP_NAME,
      origins: e.STEPGATE_WEBAUTHN_ORIGIN.split(',').map((origin) => origin.trim()),
      challengeTtlSeconds: e.STEPGATE_WEBAUTHN_CHALLENGE_TTL,
      totpMaxFailures: e.STEPGATE_TOTP_MAX_FAILURES,
      totpLockoutSeconds: e.STEPGATE_TOTP_LOCKOUT,
    },
    consoleDir: consoleDirectory(e.STEPGATE_CONSOLE_DIR),
    dataDir: resolve(e.STEPGATE_DATA_DIR),
    policySeedDir: resolve(e.STEPGATE_POLICY_SEED_DIR),
    autoActivate: e.STEPGATE_AUTO_ACTIVATE,
    pollIntervalSeconds: e.STEPGATE_POLL_INTERVAL,
    maxBundleBytes: e.STEPGATE_MAX_BUNDLE_BYTES,
    policyTest: {
      timeoutSeconds: e.STEPGATE_POLICY_TEST_TIMEOUT,
      memoryMb: e.STEPGATE_POLICY_TEST_MEMORY,
    },
    replay: {
      workers: e.STEPGATE_REPLAY_WORKERS,
      minRecords: e.STEPGATE_REPLAY_WORKER_MIN_RECORDS,
    },
    decisionRetentionSeconds: e.STEPGATE_DECISION_RETENTION,
    ingestRetryBaseMs: e.STEPGATE_INGEST_RETRY_BASE,
    // The default never exceeds the cap: a deployment that lowers only the cap gets it.
    grantTtlSeconds: Math.min(e.STEPGATE_GRANT_TTL, e.STEPGATE_GRANT_MAX_TTL),
    grantMaxTtlSeconds: e.STEPGATE_GRANT_MAX_TTL,
    approvalTtlSeconds: e.STEPGATE_APPROVAL_TTL,
    approvalSweepIntervalSeconds: e.STEPGATE_APPROVAL_SWEEP_INTERVAL,
    jwksRefreshSeconds: e.STEPGATE_JWKS_REFRESH,
    adminStepUp: e.STEPGATE_ADMIN_STEP_UP === 'on',
    eventsRateLimit: e.STEPGATE_EVENTS_RATE_LIMIT,
    logLevel: e.STEPGATE_LOG_LEVEL,
    outbound,
    pipelineGates: {
      pollIntervalMs: e.STEPGATE_PIPELINE_GATE_POLL_INTERVAL,
      ttlSeconds: e.STEPGATE_PIPELINE_GATE_TTL,
    },
    publicUrl: (e.STEPGATE_PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
  };
  const github = githubApp(e);
  if (github) config.github = github;
  if (e.STEPGATE_TERRAFORM_HMAC_KEY)
    config.terraform = {
      hmacKey: e.STEPGATE_TERRAFORM_HMAC_KEY,
      url: new URL(e.STEPGATE_TERRAFORM_URL).origin,
      stepUpTimeoutSeconds: e.STEPGATE_TERRAFORM_STEP_UP_TIMEOUT,
      heartbeatMs: e.STEPGATE_TERRAFORM_HEARTBEAT,
    };
  if (e.STEPGATE_TLS_CERT !== undefined || e.STEPGATE_TLS_KEY !== undefined) {
    if (e.STEPGATE_TLS_CERT === undefined || e.STEPGATE_TLS_KEY === undefined) {
      const [given, missing] =
        e.STEPGATE_TLS_CERT === undefined
          ? ['STEPGATE_TLS_KEY', 'STEPGATE_TLS_CERT']
          : ['STEPGATE_TLS_CERT', 'STEPGATE_TLS_KEY'];
      throw new ConfigError(
        `invalid configuration: ${given} is set but ${missing} is not: HTTPS needs both the certificate and its private key (PEM files)`,
      );
    }
    config.tls = { certFile: e.STEPGATE_TLS_CERT, keyFile: e.STEPGATE_TLS_KEY };
  }
  if (e.STEPGATE_ADMIN_TOKEN) config.adminToken = e.STEPGATE_ADMIN_TOKEN;
  if (e.STEPGATE_SIGNING_KEY) config.signingKey = e.STEPGATE_SIGNING_KEY;
  if (e.STEPGATE_SIGNING_KEY_PREVIOUS) config.signingKeyPrevious = e.STEPGATE_SIGNING_KEY_PREVIOUS;
  if (e.STEPGATE_SECRET_KEY) config.secretKey = e.STEPGATE_SECRET_KEY;
  if (e.STEPGATE_WEBHOOK_SECRET) config.webhookSecret = e.STEPGATE_WEBHOOK_SECRET;
  if (e.STEPGATE_SOURCE_URL) {
    const refused = urlHostProblem(e.STEPGATE_SOURCE_URL, outbound);
    if (refused !== undefined)
      throw new ConfigError(`invalid configuration: STEPGATE_SOURCE_URL: ${refused}`);
    // Credentials in the URL go to the encrypted credentials, never into the stored URL;
    // STEPGATE_SOURCE_USERNAME/PASSWORD, when set, win over them.
    const { url, credentials } = splitCredentials(e.STEPGATE_SOURCE_URL);
    config.remoteSource = { url, branch: e.STEPGATE_SOURCE_BRANCH, path: e.STEPGATE_SOURCE_PATH };
    const username = e.STEPGATE_SOURCE_USERNAME ?? credentials?.username;
    const password = e.STEPGATE_SOURCE_PASSWORD ?? credentials?.password;
    if (username) config.remoteSource.username = username;
    if (password) config.remoteSource.password = password;
  }
  return config;
}

/**
 * STEPGATE_DATA_SOURCE_ALLOWED_NETWORKS: comma-separated CIDRs (e.g. 127.0.0.0/8,10.20.0.0/16)
 * whose private or loopback addresses data sources may be fetched from; unset: none.
 * @throws Error naming the entry that is not a CIDR.
 */
export function parseAllowedNetworks(value: string | undefined): OutboundPolicy {
  const text = value?.trim() ?? '';
  const setting = 'STEPGATE_DATA_SOURCE_ALLOWED_NETWORKS';
  if (text === '') return { ...PUBLIC_ONLY, setting };
  return {
    allowPrivate: text.split(',').map((entry) => {
      const cidr = parseCidr(entry.trim());
      if (cidr === undefined)
        throw new Error(
          `STEPGATE_DATA_SOURCE_ALLOWED_NETWORKS must be comma-separated CIDRs like 127.0.0.0/8 or 10.20.0.0/16, got ${JSON.stringify(entry.trim())}`,
        );
      return cidr;
    }),
    setting,
  };
}

/** The `DATA_SOURCE_*` variables: the only ones data source headers may reference. */
function dataSourceEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const [name, value] of Object.entries(env))
    if (name.startsWith(DATA_SOURCE_ENV_PREFIX) && value !== undefined) picked[name] = value;
  return picked;
}

/** `postgresql://user:secret@host/db` -> `postgresql://user:***@host/db`, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** apps/console/dist beside this app in the workspace, unless STEPGATE_CONSOLE_DIR names one. */
function consoleDirectory(configured: string | undefined): string {
  if (configured) return resolve(configured);
  // dist/config/configuration.js -> apps/control-plane -> apps/console/dist
  return fileURLToPath(new URL('../../../console/dist/', import.meta.url));
}

/**
 * The GitHub App settings: all three of id, private key and webhook secret, or none (the
 * deployment protection rule is then off and its webhook answers 404).
 */
function githubApp(e: z.infer<typeof environmentSchema>): AppConfig['github'] | undefined {
  const given = {
    STEPGATE_GITHUB_APP_ID: e.STEPGATE_GITHUB_APP_ID,
    STEPGATE_GITHUB_APP_PRIVATE_KEY: e.STEPGATE_GITHUB_APP_PRIVATE_KEY,
    STEPGATE_GITHUB_WEBHOOK_SECRET: e.STEPGATE_GITHUB_WEBHOOK_SECRET,
  };
  const missing = Object.entries(given)
    .filter(([, value]) => value === undefined)
    .map(([name]) => name);
  if (missing.length === 3) return undefined;
  if (missing.length > 0)
    throw new ConfigError(
      `invalid configuration: the GitHub App needs STEPGATE_GITHUB_APP_ID, STEPGATE_GITHUB_APP_PRIVATE_KEY (or _FILE) and STEPGATE_GITHUB_WEBHOOK_SECRET; missing ${missing.join(', ')}`,
    );
  if (!/-----BEGIN (RSA )?PRIVATE KEY-----/.test(given.STEPGATE_GITHUB_APP_PRIVATE_KEY ?? ''))
    throw new ConfigError(
      'invalid configuration: STEPGATE_GITHUB_APP_PRIVATE_KEY is not a PEM private key (the .pem file GitHub generates for the App; use STEPGATE_GITHUB_APP_PRIVATE_KEY_FILE for the file)',
    );
  return {
    appId: given.STEPGATE_GITHUB_APP_ID as string,
    privateKey: given.STEPGATE_GITHUB_APP_PRIVATE_KEY as string,
    webhookSecret: given.STEPGATE_GITHUB_WEBHOOK_SECRET as string,
    apiUrl: e.STEPGATE_GITHUB_API_URL.replace(/\/+$/, ''),
  };
}
