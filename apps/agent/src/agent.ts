import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AgentSync,
  BundleStore,
  DecisionPoint,
  GrantStore,
  LiveDataStore,
  LogBuffer,
  LogShipper,
  SignalStore,
  TokenVerifier,
  TrustStore,
  type AgentDecision,
  type ConnectionState,
  type Logger,
} from '@stepgate/agent-core';
import { persistentAgentId } from './cache/agent-id.js';
import { ensureDir } from './cache/atomic-file.js';
import { FileBundleCache } from './cache/file-bundle-cache.js';
import { FileGrantCache } from './cache/file-grant-cache.js';
import { FileKeyPinStore } from './cache/file-key-pin-store.js';
import { FileLiveDataCache } from './cache/file-live-data-cache.js';
import { resetTrust } from './cache/trust-reset.js';
import { ConfigError, type AgentConfig } from './config.js';
import type { AgentMetrics } from './http/metrics.js';
import { createHttpServer } from './http/server.js';
import type { HttpsServing } from './http/https-serving.js';
import type { SocketLink } from './transport/socket-link.js';

export const AGENT_VERSION = '0.1.0';

/** How often the sync time is written while connected, so a crash loses little of it. */
const SYNC_SAVE_INTERVAL_MS = 60_000;
const SHUTDOWN_FLUSH_MS = 2000;
/** How often expired risk signals of subjects nobody asked about are dropped. */
const SIGNAL_SWEEP_INTERVAL_MS = 10_000;

export interface RunningAgent {
  agentId: string;
  port: number;
  point: DecisionPoint;
  store: BundleStore;
  grants: GrantStore;
  liveData: LiveDataStore;
  signals: SignalStore;
  /** Stops serving, ships what it can of the decision log, disconnects. */
  stop(): Promise<void>;
}

/**
 * Starts the agent in the order that lets it answer as early as possible: trusted keys and
 * the disk cache (verified) -> HTTP listening (deciding from the cache, or by the fail mode)
 * -> only then the control-plane connection.
 */
export async function startAgent(config: AgentConfig, logger: Logger): Promise<RunningAgent> {
  // The files are checked before anything else, so a bad one stops the start with its name.
  const tls = config.tls === undefined ? undefined : await httpsServing(config.tls);
  const controlPlaneCa = await trustedCas(config);
  await ensureDir(config.cacheDir);
  const agentId = config.agentId ?? (await persistentAgentId(config.cacheDir));
  if (config.resetTrust) await resetTrustLoudly(config, logger);
  const trust = await loadTrust(config, logger);
  const store = new BundleStore({
    trust,
    cache: new FileBundleCache(config.cacheDir),
    labels: config.labels,
    maxRevisionStep: config.maxRevisionStep,
    logger,
  });
  await store.loadFromCache();
  // Grants verified with the same trusted keys; the ones on disk are honoured before any connection.
  const grants = new GrantStore({ trust, cache: new FileGrantCache(config.cacheDir), logger });
  await grants.loadFromCache();
  // Live data too: an agent restarted while the control plane is down decides with what it had.
  const liveData = new LiveDataStore({
    trust,
    cache: new FileLiveDataCache(config.cacheDir),
    logger,
  });
  await liveData.loadFromCache();
  // Risk signals are kept in memory only: they expire within their window anyway, and the
  // control plane sends a snapshot on every connection (until then, zero values).
  const signals = new SignalStore();
  const tokens = new TokenVerifier({ store });

  // Created after the HTTP server listens; read through this holder until then.
  const late: { link?: SocketLink; metrics?: AgentMetrics } = {};
  const connection: ConnectionState = {
    get connected() {
      return late.link?.connected ?? false;
    },
  };
  const logs = new LogBuffer(config.logBuffer);
  // Decisions taken before prom-client is loaded are counted once it is.
  const early: [AgentDecision, number][] = [];
  const point = new DecisionPoint({
    store,
    logs,
    logger,
    failMode: config.failMode,
    ...(config.maxStalenessMs !== undefined ? { maxStalenessMs: config.maxStalenessMs } : {}),
    connection,
    grants,
    liveData,
    signals,
    observer: (decision, seconds) => {
      if (late.metrics !== undefined) late.metrics.observe(decision, seconds);
      else if (early.length < 100_000) early.push([decision, seconds]);
    },
  });

  const server = createHttpServer({
    point,
    metrics: () => late.metrics,
    logger,
    challenge: config.challenge,
    tokens,
    trustedProxies: config.trustedProxies,
    ...(tls === undefined ? {} : { https: tls.https }),
  });
  await listen(server, config.port, config.host);
  const stopWatching = tls === undefined ? () => undefined : tls.watch(logger);
  const port = (server.address() as AddressInfo).port;
  const status = point.status();
  logger.info(
    {
      agentId,
      revision: status.revision ?? null,
      failReason: status.failReason ?? null,
      failMode: config.failMode,
      ...(tls === undefined
        ? {}
        : { certificate: tls.certificate, clientCertificates: tls.clientCertificates }),
      startupMs: Math.round(performance.now()),
    },
    `agent serving decisions on ${tls === undefined ? 'http' : 'https'}://${config.host}:${port}`,
  );

  // Loaded after listening: decisions are served while socket.io and prom-client load.
  const [{ SocketLink }, { AgentMetrics }] = await Promise.all([
    import('./transport/socket-link.js'),
    import('./http/metrics.js'),
  ]);
  const metrics = new AgentMetrics({
    point,
    store,
    logs,
    signals,
    connected: () => connection.connected,
  });
  late.metrics = metrics;
  for (const [decision, seconds] of early.splice(0)) metrics.observe(decision, seconds);
  const link = new SocketLink({
    url: config.url,
    token: config.token,
    agentId,
    labels: config.labels,
    agentVersion: AGENT_VERSION,
    revisions: () => store.revisions(),
    dataRevision: () => liveData.revision,
    onMalformedSignals: () => metrics.signalsRefused(),
    ...(controlPlaneCa === undefined ? {} : { ca: controlPlaneCa }),
    logger,
  });
  const sync = new AgentSync({
    link,
    store,
    trust,
    grants,
    liveData,
    signals,
    logger,
    onBundleResult: (result) => {
      if (!result.applied && result.code !== 'duplicate') metrics.bundleRefused(result.kind);
    },
    onKeysResult: (result) => metrics.keysRefused(result.refused.length),
    onSignalsResult: (result) => {
      if (result.status === 'invalid') metrics.signalsRefused();
    },
  });
  sync.start();
  const shipper = new LogShipper({ buffer: logs, sink: link, logger });
  link.startShipping({ shipper, buffer: logs });
  late.link = link;
  link.connect();

  const syncTimer = setInterval(() => {
    grants.prune();
    if (!connection.connected) return;
    store.markSynced();
    void store.saveSyncedAt();
  }, SYNC_SAVE_INTERVAL_MS);
  syncTimer.unref();
  const sweepTimer = setInterval(() => signals.sweep(), SIGNAL_SWEEP_INTERVAL_MS);
  sweepTimer.unref();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      clearInterval(syncTimer);
      clearInterval(sweepTimer);
      stopWatching();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (connection.connected) {
        store.markSynced();
        await withDeadline(shipper.flush(), SHUTDOWN_FLUSH_MS);
      }
      await store.saveSyncedAt();
      link.close();
      await withDeadline(closed, 1000);
      server.closeAllConnections();
      logger.info({ unshipped: logs.size + logs.inFlightSize }, 'agent stopped');
    })());

  return { agentId, port, point, store, grants, liveData, signals, stop };
}

/** node:https and node:tls load only when used: an HTTP agent starts as light as before. */
async function httpsServing(files: NonNullable<AgentConfig['tls']>): Promise<HttpsServing> {
  const { httpsServing: load } = await import('./http/https-serving.js');
  try {
    return load(files);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/** STEPGATE_CA_FILE: the system's roots plus the file's certificates; undefined: Node's default. */
async function trustedCas(config: AgentConfig): Promise<string[] | undefined> {
  if (config.caFile === undefined) return undefined;
  let pem: string;
  try {
    pem = await readFile(config.caFile, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError(`STEPGATE_CA_FILE: cannot read ${config.caFile} (${code})`);
  }
  try {
    new X509Certificate(pem);
  } catch {
    throw new ConfigError(`STEPGATE_CA_FILE: ${config.caFile} holds no PEM certificate`);
  }
  return [...(await import('node:tls')).rootCertificates, pem];
}

/** `--reset-trust`: says what it discards, one line per file, then discards it. */
async function resetTrustLoudly(config: AgentConfig, logger: Logger): Promise<void> {
  const discarded = await resetTrust(config.cacheDir);
  for (const line of discarded)
    logger.warn({ cacheDir: config.cacheDir }, `--reset-trust: ${line}`);
  logger.warn(
    { cacheDir: config.cacheDir },
    discarded.length === 0
      ? '--reset-trust: nothing cached to discard'
      : `--reset-trust: the agent starts without a bundle and pins again from ${config.trustedKeysFile !== undefined ? 'STEPGATE_TRUSTED_KEYS' : 'the next connection (trust on first use; STEPGATE_TRUSTED_KEYS avoids trusting whoever answers)'}`,
  );
}

async function loadTrust(config: AgentConfig, logger: Logger): Promise<TrustStore> {
  const pins = new FileKeyPinStore(config.cacheDir);
  if (config.trustedKeysFile !== undefined) {
    let jwks: unknown;
    try {
      jwks = JSON.parse(await readFile(config.trustedKeysFile, 'utf8'));
    } catch (error) {
      throw new ConfigError(
        `STEPGATE_TRUSTED_KEYS: cannot read ${config.trustedKeysFile}: ${(error as Error).message}`,
      );
    }
    try {
      // Rotated keys endorsed from the configured ones are kept beside them in the cache dir.
      return await TrustStore.configured(jwks, pins, logger);
    } catch (error) {
      throw new ConfigError(
        `STEPGATE_TRUSTED_KEYS: ${config.trustedKeysFile}: ${(error as Error).message}`,
      );
    }
  }
  const trust = await TrustStore.trustOnFirstUse(pins, logger);
  logger.warn(
    { pinned: trust.kids, file: pins.path },
    'STEPGATE_TRUSTED_KEYS is not set: trusting the bundle-signing keys the control plane sends over the authenticated connection (pinned on first use)',
  );
  return trust;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function withDeadline(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
