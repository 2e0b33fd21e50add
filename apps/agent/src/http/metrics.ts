import type {
  AgentDecision,
  BundleStore,
  DecisionPoint,
  LogBuffer,
  SignalStore,
} from '@stepgate/agent-core';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface AgentMetricsSources {
  point: DecisionPoint;
  store: BundleStore;
  logs: LogBuffer;
  /** The risk signals held (optional: the gauge is left out without it). */
  signals?: SignalStore;
  connected: () => boolean;
}

/**
 * The agent's Prometheus metrics. Decision counters and the latency histogram are updated on
 * the hot path through pre-bound children; the rest is read from the live objects at scrape
 * time.
 */
export class AgentMetrics {
  readonly registry = new Registry();
  private readonly byEffect: Record<AgentDecision['effect'], Counter.Internal>;
  private readonly failModeDecisions: Counter<'reason'>;
  private readonly latency: Histogram;
  private readonly refusals: Counter<'kind'>;
  private readonly refusedKeys: Counter;
  private readonly refusedSignals: Counter;

  constructor(sources: AgentMetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'stepgate_agent_' });
    const decisions = new Counter({
      name: 'stepgate_agent_decisions_total',
      help: 'Decisions taken, by effect.',
      labelNames: ['effect'] as const,
      registers,
    });
    this.byEffect = {
      allow: decisions.labels('allow'),
      deny: decisions.labels('deny'),
      step_up: decisions.labels('step_up'),
    };
    this.failModeDecisions = new Counter({
      name: 'stepgate_agent_fail_mode_decisions_total',
      help: 'Decisions taken by the fail mode instead of the policies, by reason.',
      labelNames: ['reason'] as const,
      registers,
    });
    this.latency = new Histogram({
      name: 'stepgate_agent_decision_duration_seconds',
      help: 'Time to decide (active and shadow evaluation, recording), in seconds.',
      buckets: [
        0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.005, 0.01,
      ],
      registers,
    });
    this.refusals = new Counter({
      name: 'stepgate_agent_bundle_refusals_total',
      help: 'Bundles refused (bad signature, older revision, invalid policy set...).',
      labelNames: ['kind'] as const,
      registers,
    });
    this.refusedKeys = new Counter({
      name: 'stepgate_agent_keys_refused_total',
      help: 'Bundle-signing keys the control plane offered with no endorsement from a trusted key.',
      registers,
    });
    this.refusedSignals = new Counter({
      name: 'stepgate_agent_signals_refused_total',
      help: 'Risk-signal messages refused (unsigned, forged, signed by an untrusted key, malformed).',
      registers,
    });
    const signals = sources.signals;
    if (signals !== undefined) {
      new Gauge({
        name: 'stepgate_agent_signal_values',
        help: 'Risk-signal values held (per subject and signal; expired ones are dropped lazily).',
        registers,
        collect() {
          this.set(signals.size);
        },
      });
      new Gauge({
        name: 'stepgate_agent_signal_subjects',
        help: 'Subjects holding at least one risk-signal value.',
        registers,
        collect() {
          this.set(signals.subjectCount);
        },
      });
    }
    new Gauge({
      name: 'stepgate_agent_bundle_revision',
      help: 'Revision of the bundle held, by kind (absent when none).',
      labelNames: ['kind'] as const,
      registers,
      collect() {
        this.reset();
        const { active, shadow } = sources.store;
        if (active) this.set({ kind: 'active' }, active.revision);
        if (shadow) this.set({ kind: 'shadow' }, shadow.revision);
      },
    });
    new Gauge({
      name: 'stepgate_agent_bundle_age_seconds',
      help: 'Seconds since the active bundle was signed by the control plane.',
      registers,
      collect() {
        this.reset();
        const active = sources.store.active;
        if (active) this.set(Math.max(0, (Date.now() - active.issuedAt) / 1000));
      },
    });
    new Gauge({
      name: 'stepgate_agent_bundle_staleness_seconds',
      help: 'Seconds since the bundle was last known current (0 while connected).',
      registers,
      collect() {
        this.reset();
        const seconds = sources.point.status().stalenessSeconds;
        if (seconds !== undefined) this.set(seconds);
      },
    });
    new Gauge({
      name: 'stepgate_agent_connected',
      help: '1 while connected to the control plane, else 0.',
      registers,
      collect() {
        this.set(sources.connected() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'stepgate_agent_ready',
      help: '1 when the agent can enforce its policies (or fails open), else 0.',
      registers,
      collect() {
        this.set(sources.point.status().ready ? 1 : 0);
      },
    });
    new Gauge({
      name: 'stepgate_agent_log_buffer_records',
      help: 'Decision records waiting to be shipped (including a batch in flight).',
      registers,
      collect() {
        this.set(sources.logs.size + sources.logs.inFlightSize);
      },
    });
    let reportedDrops = 0;
    new Counter({
      name: 'stepgate_agent_log_records_dropped_total',
      help: 'Decision records dropped because the buffer was full.',
      registers,
      collect() {
        const total = sources.logs.droppedTotal;
        if (total > reportedDrops) this.inc(total - reportedDrops);
        reportedDrops = total;
      },
    });
  }

  /** The DecisionPoint observer: called once per decision. */
  readonly observe = (decision: AgentDecision, seconds: number): void => {
    this.byEffect[decision.effect].inc();
    this.latency.observe(seconds);
    if (decision.failReason !== undefined)
      this.failModeDecisions.inc({ reason: decision.failReason });
  };

  bundleRefused(kind: 'active' | 'shadow'): void {
    this.refusals.inc({ kind });
  }

  signalsRefused(): void {
    this.refusedSignals.inc();
  }

  keysRefused(count: number): void {
    if (count > 0) this.refusedKeys.inc(count);
  }
}
