import { decideWithGrants, grantsMayImprove } from '@stepgate/policy';
import { parseDecisionRequest } from '@stepgate/protocol';
import type {
  AuthEvidence,
  Decision,
  DecideOptions,
  DecisionRequest,
  Effect,
  Entities,
  Level,
  Reason,
} from '@stepgate/policy';
import type { BundleStore, LoadedBundle } from './bundle-store.js';
import {
  applyMask,
  declaredSignals,
  MASKED,
  maskedPaths,
  type AgentDecision,
  type DecisionEntry,
  type DeclaredSignal,
  type FailReason,
} from './decision-record.js';
import type { GrantStore } from './evidence/grant-store.js';
import type { LiveData, LiveDataStore } from './live-data-store.js';
import type { LogBuffer } from './log-buffer.js';
import type { SignalStore, SignalValues } from './signal-store.js';
import {
  silentLogger,
  systemClock,
  type Clock,
  type ConnectionState,
  type Logger,
} from './ports.js';

/** What to answer when the policies cannot be used: deny (`closed`) or allow (`open`). */
export type FailMode = 'closed' | 'open';

export interface DecisionPointOptions {
  store: BundleStore;
  /** Where every decision is recorded; omit to keep no log. */
  logs?: LogBuffer;
  clock?: Clock;
  logger?: Logger;
  failMode?: FailMode;
  /**
   * How long a bundle may go without confirmation from the control plane while disconnected
   * before the fail mode applies (ms). Undefined: never stale.
   */
  maxStalenessMs?: number;
  /** The control-plane connection; without one the agent counts as disconnected. */
  connection?: ConnectionState;
  /**
   * Grants pushed by the control plane: honoured automatically for their subject, within
   * their scope, until they expire or are revoked.
   */
  grants?: GrantStore;
  /**
   * The live data pushed by the control plane: `data.<name>` of the bundle's declared live
   * documents, active and shadow alike. Without one, every live document reads its default.
   */
  liveData?: LiveDataStore;
  /**
   * The risk signals pushed by the control plane: `signals.<name>` of the request's principal,
   * read only when the active or shadow bundle declares signals. Without one, every declared
   * signal reads its zero value.
   */
  signals?: SignalStore;
  /** Called after every decision with its total time (active + shadow + record), in seconds. */
  observer?: (decision: AgentDecision, seconds: number) => void;
}

export interface DecidePointOptions {
  /** The evaluation time; defaults to the clock. */
  now?: Date;
  /**
   * Whether the decision goes to the decision log (default true). `false` for requests that
   * change nothing, such as a Kubernetes admission dry run.
   */
  record?: boolean;
}

/** Whether the point can enforce its policies right now, and if not why. */
export interface DecisionPointStatus {
  /** True with a usable active bundle, or in fail-open (every request gets an answer). */
  ready: boolean;
  failMode: FailMode;
  failReason?: FailReason;
  revision?: number;
  shadowRevision?: number;
  /** The live-data revision decisions read (0: none received). */
  dataRevision: number;
  connected: boolean;
  /** The risk-signal values held (absent without a signal store). */
  signals?: { subjects: number; values: number };
  /** Seconds since the bundle was last known current (0 while connected). */
  stalenessSeconds?: number;
}

const FAIL_MESSAGES: Record<FailReason, string> = {
  no_bundle: 'No valid policy bundle has been loaded',
  stale_bundle:
    'The policy bundle is older than the maximum staleness and the control plane is unreachable',
};

/**
 * The decision point: evaluates a request against the active bundle (and the shadow one
 * beside it), applies the fail mode when the bundle is missing or stale, and records every
 * decision into the log buffer. Synchronous and allocation-light: the hot path builds the
 * decision and one small log entry.
 */
export class DecisionPoint {
  readonly failMode: FailMode;
  private readonly store: BundleStore;
  private readonly logs: LogBuffer | undefined;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly maxStalenessMs: number | undefined;
  private readonly connection: ConnectionState | undefined;
  private readonly observer: DecisionPointOptions['observer'];
  private readonly grants: GrantStore | undefined;
  private readonly liveData: LiveDataStore | undefined;
  private readonly signals: SignalStore | undefined;
  /** The signals each bundle declares, worked out once per bundle. */
  private readonly declared = new WeakMap<LoadedBundle, readonly DeclaredSignal[]>();
  private readonly failReasons: Record<FailReason, readonly Reason[]>;
  private shadowFailures = 0;

  constructor(options: DecisionPointOptions) {
    this.store = options.store;
    this.logs = options.logs;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.failMode = options.failMode ?? 'closed';
    this.maxStalenessMs = options.maxStalenessMs;
    this.connection = options.connection;
    this.observer = options.observer;
    this.grants = options.grants;
    this.liveData = options.liveData;
    this.signals = options.signals;
    const effect: Effect = this.failMode === 'open' ? 'allow' : 'deny';
    const reason = (why: FailReason): readonly Reason[] =>
      Object.freeze([
        Object.freeze({
          policy: '(agent)',
          rule: `fail_${this.failMode}/${why}`,
          effect,
          message: `${FAIL_MESSAGES[why]}; failing ${this.failMode} (failMode: ${this.failMode}).`,
        }),
      ]);
    this.failReasons = { no_bundle: reason('no_bundle'), stale_bundle: reason('stale_bundle') };
  }

  /** The authentication levels of the active bundle (for step-up challenges). */
  get levels(): readonly Level[] {
    return this.store.active?.levels ?? [];
  }

  /**
   * The entities the active bundle declares (AuthZEN search candidates) with its revision, read
   * together so a search pages over one bundle; undefined without an active bundle.
   */
  get entities(): { revision: number; entities: Entities } | undefined {
    const active = this.store.active;
    return active === undefined
      ? undefined
      : { revision: active.revision, entities: active.entities };
  }

  /**
   * Decides a request. `evidence` is verified authentication only (a token or grant checked
   * by the caller of this method), never what the requester claims. When the answer is a
   * step-up and the principal holds grants covering the request, each grant (and the
   * caller's evidence with the grants' approvals) is tried too and the best answer wins;
   * the grants that made it pass are named in `decision.grants`.
   * @throws StepgateError `request/invalid` from `parseDecisionRequest` (@stepgate/protocol,
   *   the one request check of every decision API) when the request is malformed or breaks a
   *   size limit (`REQUEST_LIMITS`), in every mode and before any grant glob is matched.
   */
  decide(
    received: DecisionRequest,
    evidence?: AuthEvidence,
    options: DecidePointOptions = {},
  ): AgentDecision {
    const started = performance.now();
    // The last parse: an edge's result is handed back as it is; this one need not be remembered.
    const request: DecisionRequest = parseDecisionRequest(received, { remember: false });
    const nowMs = options.now !== undefined ? options.now.getTime() : this.clock.now();
    const active = this.store.active;
    // Read once: the active and shadow decisions (and every grant candidate) see one revision.
    const live = this.liveData?.current;
    // Live data arrives over the same connection as the bundle, so it is exactly as stale:
    // past the maximum staleness the fail mode answers, whatever data the agent holds.
    const failReason: FailReason | undefined =
      active === undefined ? 'no_bundle' : this.isStale(nowMs) ? 'stale_bundle' : undefined;

    let decision: AgentDecision;
    let shadowDecision: Decision | undefined;
    // What the decision read of the principal's signals, kept in its record.
    let signalsDeclared: readonly DeclaredSignal[] | undefined;
    let shadowSignalsDeclared: readonly DeclaredSignal[] | undefined;
    let signalValues: SignalValues | undefined;
    // The verified evidence the recorded decision was made with (a grant's when one applied).
    let used: AuthEvidence | undefined;
    if (failReason !== undefined || active === undefined) {
      const reasons = this.failReasons[failReason ?? 'no_bundle'];
      decision = {
        effect: reasons[0]?.effect ?? 'deny',
        reasons: reasons as Reason[],
        revision: active?.revision ?? 0,
        decisionId: crypto.randomUUID(),
        durationNs: 0,
        failReason: failReason ?? 'no_bundle',
      };
    } else {
      const now = options.now ?? new Date(nowMs);
      const shadow = this.store.shadow;
      // Read once, only when a bundle declares signals: active, shadow and every grant
      // candidate see the same values, and a policy set without signals pays nothing.
      if (this.signals !== undefined) {
        signalsDeclared = this.declaredBy(active);
        shadowSignalsDeclared = shadow === undefined ? undefined : this.declaredBy(shadow);
        if (shadowSignalsDeclared?.length === 0) shadowSignalsDeclared = undefined;
        if (signalsDeclared.length === 0 && shadowSignalsDeclared === undefined)
          signalsDeclared = undefined;
        else signalValues = this.signals.valuesFor(request.principal.id, nowMs);
      }
      const context: DecideOptions = { now };
      if (live) context.live = live;
      if (signalValues !== undefined) context.signals = signalValues;
      decision = active.engine.decide(request, evidence, context);
      used = evidence;
      // Only a step-up can be improved by a grant; everything else keeps the single evaluation.
      if (grantsMayImprove(decision) && this.grants !== undefined) {
        const better = this.decideWithGrants(active, request, evidence, nowMs, decision, context);
        decision = better.decision;
        used = better.evidence;
      }
      if (shadow !== undefined) {
        shadowDecision = this.decideShadow(shadow, request, used, decision, context);
        // The answer names the shadow only where it differs; the log keeps every comparison,
        // so the report can say how many decisions agreed.
        if (shadowDecision !== undefined && shadowDecision.effect !== decision.effect)
          decision.shadow = { effect: shadowDecision.effect, revision: shadowDecision.revision };
      }
    }

    if (this.logs !== undefined && options.record !== false) {
      const entry = this.entry(decision, request, nowMs, active, shadowDecision, live, used);
      // Not masked: the values come from the control plane, so the record tells it nothing new.
      if (signalsDeclared !== undefined) {
        entry.signalsDeclared = signalsDeclared;
        if (signalValues !== undefined) entry.signalValues = signalValues;
        if (shadowSignalsDeclared !== undefined)
          entry.shadowSignalsDeclared = shadowSignalsDeclared;
      }
      this.logs.push(entry);
    }
    this.observer?.(decision, (performance.now() - started) / 1000);
    return decision;
  }

  /** Whether the fail mode applies and why, for readiness and metrics. */
  status(nowMs: number = this.clock.now()): DecisionPointStatus {
    const active = this.store.active;
    const connected = this.connection?.connected ?? false;
    const status: DecisionPointStatus = {
      ready: false,
      failMode: this.failMode,
      dataRevision: this.liveData?.revision ?? 0,
      connected,
    };
    if (this.signals !== undefined)
      status.signals = { subjects: this.signals.subjectCount, values: this.signals.size };
    if (active === undefined) status.failReason = 'no_bundle';
    else {
      status.revision = active.revision;
      if (this.isStale(nowMs)) status.failReason = 'stale_bundle';
    }
    if (this.store.shadow) status.shadowRevision = this.store.shadow.revision;
    const syncedAt = this.store.syncedAt;
    if (connected) status.stalenessSeconds = 0;
    else if (syncedAt !== undefined)
      status.stalenessSeconds = Math.max(0, (nowMs - syncedAt) / 1000);
    status.ready = status.failReason === undefined || this.failMode === 'open';
    return status;
  }

  private isStale(nowMs: number): boolean {
    if (this.maxStalenessMs === undefined || this.connection?.connected === true) return false;
    const syncedAt = this.store.syncedAt;
    return syncedAt === undefined || nowMs - syncedAt > this.maxStalenessMs;
  }

  private declaredBy(bundle: LoadedBundle): readonly DeclaredSignal[] {
    let declared = this.declared.get(bundle);
    if (declared === undefined) {
      declared = declaredSignals(bundle.engine.settings);
      this.declared.set(bundle, declared);
    }
    return declared;
  }

  private decideWithGrants(
    active: LoadedBundle,
    request: DecisionRequest,
    evidence: AuthEvidence | undefined,
    nowMs: number,
    first: AgentDecision,
    context: DecideOptions,
  ): { decision: AgentDecision; evidence: AuthEvidence | undefined } {
    const principal = (request as { principal?: { id?: unknown } }).principal;
    if (typeof principal?.id !== 'string') return { decision: first, evidence };
    const grants = (this.grants as GrantStore).evidenceFor(
      principal.id,
      request.action,
      request.resource,
      nowMs,
    );
    // The same rule as the control plane's /v1/check (stepgate check), from one place.
    const { now, ...extra } = context;
    const engine =
      extra.live !== undefined || extra.signals !== undefined
        ? {
            decide: (...[r, e, o]: Parameters<typeof active.engine.decide>) =>
              active.engine.decide(r, e, { ...o, ...extra }),
          }
        : active.engine;
    const best = decideWithGrants(engine, request, {
      first,
      evidence,
      grants,
      now: now ?? new Date(nowMs),
    });
    const decision: AgentDecision = best.decision;
    if (best.grants !== undefined) decision.grants = best.grants;
    return { decision, evidence: best.evidence };
  }

  private decideShadow(
    shadow: LoadedBundle,
    request: DecisionRequest,
    evidence: AuthEvidence | undefined,
    enforced: Decision,
    context: DecideOptions,
  ): Decision | undefined {
    try {
      const result = shadow.engine.decide(request, evidence, {
        ...context,
        decisionId: enforced.decisionId,
      });
      return result;
    } catch (error) {
      // A dry run must never break enforcement; report the first failures only.
      if (this.shadowFailures++ < 10)
        this.logger.warn(
          {
            revision: shadow.revision,
            error: error instanceof Error ? error.message : String(error),
          },
          'the shadow bundle failed to decide',
        );
      return undefined;
    }
  }

  private entry(
    decision: AgentDecision,
    request: DecisionRequest,
    at: number,
    bundle: LoadedBundle | undefined,
    shadowDecision: Decision | undefined,
    live: LiveData | undefined,
    evidence: AuthEvidence | undefined,
  ): DecisionEntry {
    const mask = bundle?.mask;
    const entry: DecisionEntry = {
      decision,
      at,
      principal: request.principal.id,
      action: request.action,
      resourceKind: request.resource.kind,
      resourceId: request.resource.id,
    };
    if (live !== undefined && live.revision > 0) entry.dataRevision = live.revision;
    // Verified evidence only (level, time, approvals, grant ids), never a token: what a replay
    // decides with again instead of re-verifying anything.
    if (evidence !== undefined) entry.evidence = evidence;
    // Without a bundle the mask is unknown, so nothing of the input is kept.
    if (mask !== undefined) {
      entry.input = applyMask(request as unknown as Record<string, unknown>, mask.paths);
      // Which masked fields the request had: a replay cannot decide on what it never saw.
      if (mask.paths.length > 0) {
        const masked = maskedPaths(request as unknown as Record<string, unknown>, mask.paths);
        if (masked.length > 0) entry.masked = masked;
      }
      if (mask.principalId) entry.principal = MASKED;
      if (mask.resourceId) entry.resourceId = MASKED;
      if (mask.resourceKind) entry.resourceKind = MASKED;
    }
    if (shadowDecision !== undefined) {
      entry.shadow = { effect: shadowDecision.effect, revision: shadowDecision.revision };
      entry.shadowReasons = shadowDecision.reasons;
    }
    return entry;
  }
}
