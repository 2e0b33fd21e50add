import {
  PolicyEngine,
  type AuthEvidence,
  type CompiledPolicySet,
  type Decision,
  type DecisionRequest,
  type LiveData,
} from '@stepgate/policy';
import {
  REPLAY_RECORD_VERSION,
  type DecisionReplay,
  type NotReplayableReason,
} from '@stepgate/protocol';
import { MaskedReads } from './masked-reads.js';

/** One decision_log row as a replay reads it. */
export interface ReplayRow {
  id: string;
  at: Date;
  agentId: string;
  effect: 'allow' | 'deny' | 'step_up';
  failReason: string | null;
  principal: string;
  action: string;
  resourceKind: string;
  resourceId: string;
  require: { level?: string; maxAge?: number; approvals?: number } | null;
  reasons: { policy: string; rule: string; effect: string }[];
  input: Record<string, unknown> | null;
  dataRevision: number | null;
  signals: Record<string, unknown> | null;
  replay: unknown;
}

export type ReplayOutcome =
  | { replayed: true; decision: Decision }
  | { replayed: false; reason: NotReplayableReason; masked?: string[] };

const ENGINES = 64;

/**
 * Decides recorded requests again with a candidate policy set, with what each decision had:
 * its masked input, the verified evidence it used (never a token to verify again), the live
 * documents of its data revision, its signal values, and its time as `now`.
 */
export class ReplayEvaluator {
  private readonly engines = new Map<string, PolicyEngine>();
  private readonly byObject = new WeakMap<object, PolicyEngine>();
  private readonly maskedReads: MaskedReads;
  readonly levels: readonly string[];

  constructor(private readonly policySet: CompiledPolicySet) {
    this.maskedReads = new MaskedReads(policySet);
    this.levels = policySet.settings.levels.map((level) => level.name);
  }

  /**
   * `labels` are the recording agent's (policies select agents by label); `live` the
   * documents at the record's data revision (undefined: the agent held none).
   */
  evaluate(
    row: ReplayRow,
    labels: Readonly<Record<string, string>>,
    live: LiveData | undefined,
  ): ReplayOutcome {
    if (row.failReason !== null) return { replayed: false, reason: 'fail_mode' };
    const replay = replayPart(row.replay);
    if (replay === undefined || row.input === null)
      return { replayed: false, reason: 'recorded_before_replay' };
    if (replay.masked !== undefined && replay.masked.length > 0) {
      const read = this.maskedReads.read(replay.masked);
      if (read.length > 0) return { replayed: false, reason: 'masked_input_read', masked: read };
    }
    try {
      const options: Parameters<PolicyEngine['decide']>[2] = { now: row.at, decisionId: row.id };
      if (live !== undefined) options.live = live;
      if (row.signals !== null) options.signals = row.signals;
      const decision = this.engine(labels).decide(
        row.input as unknown as DecisionRequest,
        evidenceOf(replay),
        options,
      );
      return { replayed: true, decision };
    } catch {
      return { replayed: false, reason: 'evaluation_error' };
    }
  }

  /**
   * The engine for an agent's labels. A caller passes the same labels object for every record
   * of one agent, so the object finds its engine first; the sorted-entries key (built once per
   * object) shares one engine between agents with equal labels.
   */
  private engine(labels: Readonly<Record<string, string>>): PolicyEngine {
    let engine = this.byObject.get(labels);
    if (engine !== undefined) return engine;
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
    engine = this.engines.get(key);
    if (engine === undefined) {
      if (this.engines.size >= ENGINES) this.engines.clear();
      engine = new PolicyEngine(this.policySet, { labels });
      this.engines.set(key, engine);
    }
    this.byObject.set(labels, engine);
    return engine;
  }
}

/**
 * The record's replay part, or undefined for a record written before replay. The control plane
 * checked it with decisionReplaySchema at ingest; a full parse per record here would cost a
 * third of a replay's time, so only its version is checked.
 */
function replayPart(value: unknown): DecisionReplay | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { version } = value as { version?: unknown };
  return typeof version === 'number' && version >= REPLAY_RECORD_VERSION
    ? (value as DecisionReplay)
    : undefined;
}

function evidenceOf(replay: DecisionReplay): AuthEvidence | undefined {
  const recorded = replay.evidence;
  if (recorded === undefined) return undefined;
  const evidence: AuthEvidence = {};
  if (recorded.level !== undefined) evidence.level = recorded.level;
  if (recorded.acr !== undefined) evidence.acr = recorded.acr;
  if (recorded.amr !== undefined) evidence.amr = recorded.amr;
  if (recorded.authTime !== undefined) evidence.authTime = recorded.authTime;
  if (recorded.approvals !== undefined) evidence.approvals = recorded.approvals;
  if (recorded.grants !== undefined) evidence.grants = recorded.grants;
  return evidence;
}
