import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ChallengeStyle, FailMode } from '@stepgate/agent-core';
import { DEFAULT_LOG_CAPACITY, DEFAULT_MAX_REVISION_STEP } from '@stepgate/agent-core';
import { notADuration, parseCidr, parseDuration, type Cidr } from '@stepgate/policy';
import {
  agentHandshakeSchema,
  LOG_LEVELS,
  parseLabels,
  resolveSecretFiles,
  type LogLevel,
  type ReadTextFile,
} from '@stepgate/protocol';
import type { TlsFiles } from '@stepgate/tls-files';

/** The agent's whole configuration, parsed once at start-up; nothing else reads process.env. */
export interface AgentConfig {
  /** Control-plane base URL (`STEPGATE_URL`). */
  url: string;
  token: string;
  /** Undefined: generated once and kept in the cache dir. */
  agentId?: string;
  labels: Record<string, string>;
  cacheDir: string;
  port: number;
  host: string;
  failMode: FailMode;
  /** Undefined: never stale. */
  maxStalenessMs?: number;
  /** JWKS file of trusted bundle-signing keys; undefined: trust on first use. */
  trustedKeysFile?: string;
  /** How far past the last revision held a bundle may jump (`STEPGATE_MAX_REVISION_STEP`). */
  maxRevisionStep: number;
  /** `--reset-trust`: discard cached bundles, grants and pinned keys before starting. */
  resetTrust: boolean;
  logBuffer: number;
  logLevel: LogLevel;
  challenge: ChallengeStyle;
  /**
   * Proxies whose forwarding headers are believed for `context.ip`
   * (`STEPGATE_TRUSTED_PROXIES`); empty: none, the TCP peer is the client.
   */
  trustedProxies: Cidr[];
  /** Serve HTTPS with these PEM files (`STEPGATE_TLS_CERT`/`_KEY`/`_CLIENT_CA`); undefined: HTTP. */
  tls?: TlsFiles;
  /** Extra CA certificates (PEM) trusted for the control plane's certificate (`STEPGATE_CA_FILE`). */
  caFile?: string;
}

export class ConfigError extends Error {}

/** Shown by `--help`. */
export const USAGE = `Usage: stepgate agent [options]   (or npm run start:agent)

Recovery (a flag only, for one start):
  --reset-trust             discard the cached bundles, grants and pinned keys (saying what),
                            then pin again from STEPGATE_TRUSTED_KEYS or the next connection

Every option has an environment variable; flags win.
  --url <url>               STEPGATE_URL            control plane (default http://localhost:8181)
  --token <token>           STEPGATE_AGENT_TOKEN    API token with the agent scope (required; or
                            STEPGATE_AGENT_TOKEN_FILE, a file holding it)
  --agent-id <id>           STEPGATE_AGENT_ID       default: generated once, kept in the cache dir
  --labels <k=v,...>        STEPGATE_AGENT_LABELS   labels for policy and bundle selectors
  --cache-dir <dir>         STEPGATE_CACHE_DIR      default .stepgate-agent
  --port <port>             STEPGATE_AGENT_PORT     default 8182
  --host <address>          STEPGATE_AGENT_HOST     default 0.0.0.0
  --fail-mode <mode>        STEPGATE_FAIL_MODE      closed (default) or open
  --max-staleness <dur>     STEPGATE_MAX_STALENESS  e.g. 10m; "off" never expires (default 1h)
  --trusted-keys <file>     STEPGATE_TRUSTED_KEYS   JWKS of bundle-signing keys (default: pin on first use)
  --max-revision-step <n>   STEPGATE_MAX_REVISION_STEP  how far past the revision it holds a bundle
                            may jump (default 100000); a forged far-future revision is refused
  --log-buffer <n>          STEPGATE_LOG_BUFFER     decision records kept while offline (default 10000)
  --challenge <style>       STEPGATE_CHALLENGE      rfc9470 (default) or insufficient_claims
  --log-level <level>       STEPGATE_LOG_LEVEL      trace, debug, info (default), warn, error, fatal, silent
  --trusted-proxies <cidrs> STEPGATE_TRUSTED_PROXIES proxies whose X-Forwarded-For is believed,
                            e.g. 127.0.0.1/32,10.1.0.0/16 (default: none)

TLS (PEM files; changes are picked up without a restart):
  --tls-cert <file>         STEPGATE_TLS_CERT       serve HTTPS with this certificate (chain)...
  --tls-key <file>          STEPGATE_TLS_KEY        ...and its private key (both or neither)
  --tls-client-ca <file>    STEPGATE_TLS_CLIENT_CA  require client certificates signed by these CAs
  --ca-file <file>          STEPGATE_CA_FILE        CA certificates trusted, beside the system's,
                            for an https:// STEPGATE_URL (a private CA)
  --allow-insecure <bool>   STEPGATE_ALLOW_INSECURE true: allow a plain http:// STEPGATE_URL to a
                            host other than loopback (default false)
`;

const OPTIONS = {
  url: { env: 'STEPGATE_URL' },
  token: { env: 'STEPGATE_AGENT_TOKEN' },
  'agent-id': { env: 'STEPGATE_AGENT_ID' },
  labels: { env: 'STEPGATE_AGENT_LABELS' },
  'cache-dir': { env: 'STEPGATE_CACHE_DIR' },
  port: { env: 'STEPGATE_AGENT_PORT' },
  host: { env: 'STEPGATE_AGENT_HOST' },
  'fail-mode': { env: 'STEPGATE_FAIL_MODE' },
  'max-staleness': { env: 'STEPGATE_MAX_STALENESS' },
  'trusted-keys': { env: 'STEPGATE_TRUSTED_KEYS' },
  'max-revision-step': { env: 'STEPGATE_MAX_REVISION_STEP' },
  'log-buffer': { env: 'STEPGATE_LOG_BUFFER' },
  challenge: { env: 'STEPGATE_CHALLENGE' },
  'log-level': { env: 'STEPGATE_LOG_LEVEL' },
  'trusted-proxies': { env: 'STEPGATE_TRUSTED_PROXIES' },
  'tls-cert': { env: 'STEPGATE_TLS_CERT' },
  'tls-key': { env: 'STEPGATE_TLS_KEY' },
  'tls-client-ca': { env: 'STEPGATE_TLS_CLIENT_CA' },
  'ca-file': { env: 'STEPGATE_CA_FILE' },
  'allow-insecure': { env: 'STEPGATE_ALLOW_INSECURE' },
} as const;
type OptionName = keyof typeof OPTIONS;

/** The variables that hold a secret: each also accepts `<NAME>_FILE`, a file holding the value. */
export const SECRET_VARIABLES = ['STEPGATE_AGENT_TOKEN'] as const;

/** `--help` was asked for. */
export class HelpRequested extends Error {}

/**
 * Reads flags and environment once.
 * @throws ConfigError with a one-line message naming the setting; HelpRequested for --help.
 */
export function loadConfig(
  environment: Readonly<Record<string, string | undefined>> = process.env,
  argv: readonly string[] = process.argv.slice(2),
  readTextFile: ReadTextFile = (path) => readFileSync(path, 'utf8'),
): AgentConfig {
  const secrets = resolveSecretFiles(environment, SECRET_VARIABLES, readTextFile);
  if (secrets.problems.length > 0) throw new ConfigError(secrets.problems.join('; '));
  const env = secrets.env;
  let flags: Partial<Record<OptionName | 'help' | 'reset-trust', string | boolean>>;
  try {
    ({ values: flags } = parseArgs({
      args: [...argv],
      options: {
        ...Object.fromEntries(
          Object.keys(OPTIONS).map((name) => [name, { type: 'string' as const }]),
        ),
        help: { type: 'boolean', short: 'h' },
        // An action, not a setting: no environment variable, so it cannot stay on by mistake.
        'reset-trust': { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new ConfigError((error as Error).message.split('\n')[0] ?? 'invalid arguments');
  }
  if (flags.help === true) throw new HelpRequested();

  const read = (name: OptionName): { value: string | undefined; from: string } => {
    const flag = flags[name];
    if (typeof flag === 'string') return { value: flag, from: `--${name}` };
    const value = env[OPTIONS[name].env];
    return { value: value === '' ? undefined : value, from: OPTIONS[name].env };
  };

  const url = read('url');
  const urlValue = url.value ?? 'http://localhost:8181';
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(urlValue);
  } catch {
    throw new ConfigError(`${url.from} is not a URL: ${urlValue}`);
  }
  if (parsedUrl.protocol !== 'http:' && parsedUrl.protocol !== 'https:')
    throw new ConfigError(`${url.from} must be an http(s) URL, got ${parsedUrl.protocol}`);
  const allowInsecure = oneOf(read('allow-insecure'), ['true', 'false'] as const, 'false');
  // The token and every bundle, grant and decision log cross this connection.
  if (parsedUrl.protocol === 'http:' && !isLoopback(parsedUrl.hostname) && allowInsecure !== 'true')
    throw new ConfigError(
      `${url.from} is plain http:// to ${parsedUrl.hostname}, which is not loopback: the agent token and decision logs would cross the network unencrypted; use https://, or set STEPGATE_ALLOW_INSECURE=true (e.g. behind a TLS sidecar)`,
    );

  const token = read('token');
  if (token.value === undefined)
    throw new ConfigError(
      'STEPGATE_AGENT_TOKEN is required: an API token with the agent scope (POST /v1/tokens {"name": "...", "scopes": ["agent"]})',
    );
  if (token.value.length > 512)
    throw new ConfigError(`${token.from} is longer than 512 characters`);

  const agentId = read('agent-id');
  if (
    agentId.value !== undefined &&
    !agentHandshakeSchema.shape.agentId.safeParse(agentId.value).success
  )
    throw new ConfigError(
      `${agentId.from} must be 1-128 letters, digits, "_", ".", ":" or "-", got ${JSON.stringify(agentId.value)}`,
    );

  const labels = read('labels');
  let parsedLabels: Record<string, string> = {};
  try {
    if (labels.value !== undefined) parsedLabels = parseLabels(labels.value);
  } catch (error) {
    throw new ConfigError(`${labels.from}: ${(error as Error).message}`);
  }

  const config: AgentConfig = {
    url: urlValue.replace(/\/+$/, ''),
    token: token.value,
    labels: parsedLabels,
    cacheDir: read('cache-dir').value ?? '.stepgate-agent',
    port: integer(read('port'), 8182, 0, 65535),
    host: read('host').value ?? '0.0.0.0',
    failMode: oneOf(read('fail-mode'), ['closed', 'open'] as const, 'closed'),
    logBuffer: integer(read('log-buffer'), DEFAULT_LOG_CAPACITY, 1, 10_000_000),
    logLevel: oneOf(read('log-level'), LOG_LEVELS, 'info'),
    challenge: oneOf(read('challenge'), ['rfc9470', 'insufficient_claims'] as const, 'rfc9470'),
    maxRevisionStep: integer(
      read('max-revision-step'),
      DEFAULT_MAX_REVISION_STEP,
      1,
      2_147_483_647,
    ),
    resetTrust: flags['reset-trust'] === true,
    trustedProxies: cidrList(read('trusted-proxies')),
  };
  if (agentId.value !== undefined) config.agentId = agentId.value;
  const trustedKeys = read('trusted-keys');
  if (trustedKeys.value !== undefined) config.trustedKeysFile = trustedKeys.value;

  const tls = tlsFiles(read('tls-cert'), read('tls-key'), read('tls-client-ca'));
  if (tls !== undefined) config.tls = tls;
  const caFile = read('ca-file');
  if (caFile.value !== undefined) config.caFile = caFile.value;

  const staleness = read('max-staleness');
  const stalenessText = staleness.value ?? '1h';
  if (stalenessText !== 'off') {
    const seconds = parseDuration(stalenessText);
    if (seconds === undefined)
      throw new ConfigError(`${staleness.from}: ${notADuration(stalenessText)} (or "off")`);
    if (seconds <= 0)
      throw new ConfigError(
        `${staleness.from} must be longer than 0s (or "off"), got ${JSON.stringify(stalenessText)}`,
      );
    config.maxStalenessMs = Math.round(seconds * 1000);
  }
  return config;
}

/** localhost, 127.0.0.0/8 or ::1: a URL host whose traffic never leaves the machine. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host === '::1') return true;
  const octets = host.split('.');
  return (
    octets.length === 4 &&
    octets[0] === '127' &&
    octets.every((octet) => /^\d{1,3}$/.test(octet) && Number(octet) <= 255)
  );
}

type Option = { value: string | undefined; from: string };

/** The certificate and key come as a pair; a client CA only with them. */
function tlsFiles(cert: Option, key: Option, clientCa: Option): TlsFiles | undefined {
  if (cert.value === undefined && key.value === undefined) {
    if (clientCa.value !== undefined)
      throw new ConfigError(
        `${clientCa.from} needs STEPGATE_TLS_CERT and STEPGATE_TLS_KEY: client certificates are checked only over HTTPS`,
      );
    return undefined;
  }
  if (cert.value === undefined || key.value === undefined) {
    const [given, missing] =
      cert.value === undefined ? [key, 'STEPGATE_TLS_CERT'] : [cert, 'STEPGATE_TLS_KEY'];
    throw new ConfigError(
      `${given.from} is set but ${missing} is not: HTTPS needs both the certificate and its private key (PEM files)`,
    );
  }
  const files: TlsFiles = { certFile: cert.value, keyFile: key.value };
  if (clientCa.value !== undefined) files.clientCaFile = clientCa.value;
  return files;
}

/** Comma-separated CIDRs (a bare address is a single host), each checked. */
function cidrList(option: { value: string | undefined; from: string }): Cidr[] {
  if (option.value === undefined) return [];
  return option.value.split(',').map((entry) => {
    const text = entry.trim();
    const cidr = parseCidr(text);
    if (cidr === undefined)
      throw new ConfigError(
        `${option.from} must be comma-separated IP addresses or CIDRs like 127.0.0.1/32 or 10.0.0.0/8, got ${JSON.stringify(text)}`,
      );
    return cidr;
  });
}

function integer(
  option: { value: string | undefined; from: string },
  fallback: number,
  min: number,
  max: number,
): number {
  if (option.value === undefined) return fallback;
  const value = Number(option.value);
  if (!/^\d+$/.test(option.value) || value < min || value > max)
    throw new ConfigError(
      `${option.from} must be an integer from ${min} to ${max}, got ${JSON.stringify(option.value)}`,
    );
  return value;
}

function oneOf<T extends string>(
  option: { value: string | undefined; from: string },
  allowed: readonly T[],
  fallback: T,
): T {
  if (option.value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(option.value))
    throw new ConfigError(
      `${option.from} must be one of ${allowed.join(', ')}, got ${JSON.stringify(option.value)}`,
    );
  return option.value as T;
}
