import {
  signalZeroValue,
  type AuthEvidence,
  type Decision,
  type Effect,
  type Reason,
  type Settings,
} from '@stepgate/policy';
import {
  RECORD_EVIDENCE_LIMITS,
  REPLAY_RECORD_VERSION,
  type DecisionRecord,
  type DecisionReplay,
  type SignalValueJson,
} from '@stepgate/protocol';
import type { SignalValues } from './signal-store.js';

/** Why the agent decided without its policies: see DESIGN "Failure behaviour". */
export type FailReason = 'no_bundle' | 'stale_bundle';

/** A decision as the agent returns it: the engine's, plus fail mode and shadow divergence. */
export interface AgentDecision extends Decision {
  /** Set when the fail mode decided (no valid bundle, or a stale one while disconnected). */
  failReason?: FailReason;
  /** The shadow version's effect, only where it differs from the enforced one. */
  shadow?: { effect: Effect; revision: number };
  /** The grants (ids) whose evidence made a step-up pass. */
  grants?: string[];
}

/**
 * What the hot path stores per decision: references only. Turning it into the wire
 * {@link DecisionRecord} (ISO time, trimmed reasons, length limits) happens when a batch is
 * taken, off the request path.
 */
export interface DecisionEntry {
  decision: AgentDecision;
  at: number;
  principal: string;
  action: string;
  resourceKind: string;
  resourceId: string;
  /** The input after masking; absent when no bundle (hence no mask) was known. */
  input?: Record<string, unknown>;
  /** The shadow version's verdict on this request, agreeing or not (for the divergence report). */
  shadow?: { effect: Effect; revision: number };
  shadowReasons?: readonly Reason[];
  /** The live-data revision the decision read; absent when none was held. */
  dataRevision?: number;
  /**
   * The signals the active bundle declares, when the decision read the principal's signals
   * (absent when neither bundle declares any). With {@link signalValues} and
   * {@link shadowSignalsDeclared}, the record's `signals` is built from it off the hot path.
   * Fields of the entry rather than an object of their own: one object less per buffered record.
   */
  signalsDeclared?: readonly DeclaredSignal[];
  /** The principal's values held (shared, frozen); absent when it holds none. */
  signalValues?: SignalValues;
  /** The signals only a shadow bundle declares, when it declares any. */
  shadowSignalsDeclared?: readonly DeclaredSignal[];
  /** The verified evidence the decision was made with (a grant's when one applied). */
  evidence?: AuthEvidence;
  /** The mask paths (`context.ip`) the request had, removed from `input`. */
  masked?: string[];
}

/** A signal a bundle declares, with the JSON form of its zero value. */
export type DeclaredSignal = readonly [name: string, zero: SignalValueJson];

/**
 * The signals a policy set's settings declare, each with its zero value in JSON form (count
 * and distinct 0, exists false, last null); empty when none.
 */
export function declaredSignals(settings: Settings): readonly DeclaredSignal[] {
  return Object.freeze(
    Object.entries(settings.signals ?? {}).map(([name, declaration]): DeclaredSignal => {
      const zero = signalZeroValue(declaration.aggregate);
      return [name, typeof zero === 'bigint' ? Number(zero) : (zero as SignalValueJson)];
    }),
  );
}

/** A mask path (`context.ip`) split into its keys. */
export type MaskPath = readonly string[];

/** The bundle's `mask` setting, prepared once per bundle. */
export interface CompiledMask {
  paths: readonly MaskPath[];
  /** Whether the record's own copies of these fields must be masked too. */
  principalId: boolean;
  resourceKind: boolean;
  resourceId: boolean;
}

export function compileMask(settings: readonly string[]): CompiledMask {
  const paths = settings.map((path) => path.split('.')).filter((keys) => keys.length > 0);
  const has = (a: string, b: string) =>
    paths.some((path) => path.length === 2 && path[0] === a && path[1] === b);
  return {
    paths,
    principalId: has('principal', 'id'),
    resourceKind: has('resource', 'kind'),
    resourceId: has('resource', 'id'),
  };
}

/**
 * A copy of `input` without the masked fields. Only the objects along masked paths are
 * copied; the rest is shared, and the caller's object is never modified.
 */
export function applyMask(
  input: Record<string, unknown>,
  paths: readonly MaskPath[],
): Record<string, unknown> {
  if (paths.length === 0) return input;
  const root: Record<string, unknown> = { ...input };
  const copies = new Set<object>([root]);
  for (const path of paths) {
    let node: Record<string, unknown> | undefined = root;
    for (let i = 0; i < path.length - 1 && node !== undefined; i++) {
      const key = path[i] as string;
      const child: unknown = Object.hasOwn(node, key) ? node[key] : undefined;
      if (!isPlainObject(child)) {
        node = undefined;
        break;
      }
      if (copies.has(child)) {
        node = child;
      } else {
        const copy: Record<string, unknown> = { ...child };
        copies.add(copy);
        node[key] = copy;
        node = copy;
      }
    }
    const leaf = path[path.length - 1] as string;
    if (node !== undefined && Object.hasOwn(node, leaf)) delete node[leaf];
  }
  return root;
}

export const MASKED = '[masked]';

/** The mask paths (joined with dots) that `input` holds a value at. */
export function maskedPaths(input: Record<string, unknown>, paths: readonly MaskPath[]): string[] {
  const out: string[] = [];
  for (const path of paths) {
    let node: unknown = input;
    for (const key of path) {
      node = isPlainObject(node) && Object.hasOwn(node, key) ? node[key] : undefined;
      if (node === undefined) break;
    }
    if (node !== undefined) out.push(path.join('.'));
  }
  return out;
}

// The limits of decisionRecordSchema: a record that broke them would make the control
// plane refuse the whole batch.
const MAX_REASONS = 200;
const MAX_NAME = 512;
const MAX_ID = 2048;
const MAX_DECISION_ID = 64;

/** The wire form of a buffered decision. */
export function toDecisionRecord(entry: DecisionEntry): DecisionRecord {
  const { decision } = entry;
  const record: DecisionRecord = {
    decisionId: clip(decision.decisionId, MAX_DECISION_ID),
    at: new Date(entry.at).toISOString(),
    revision: decision.revision,
    effect: decision.effect,
    reasons: reasonRecords(decision.reasons),
    principal: clip(entry.principal, MAX_NAME),
    action: clip(entry.action, MAX_NAME),
    resource: { kind: clip(entry.resourceKind, MAX_NAME), id: clip(entry.resourceId, MAX_ID) },
    durationNs: Math.max(0, Math.round(decision.durationNs)),
  };
  if (decision.failReason !== undefined) record.failReason = decision.failReason;
  // Only with live data, which only a control plane that accepts the field sends.
  if (entry.dataRevision !== undefined) record.dataRevision = entry.dataRevision;
  if (entry.signalsDeclared !== undefined) record.signals = signalsRecord(entry);
  // Only where the policies decided: a fail-mode answer has nothing to replay.
  if (entry.input !== undefined && decision.failReason === undefined)
    record.replay = replayRecord(entry);
  // The complete requirement only, not `unmet`: the unmet parts follow from it and the
  // verified evidence, which a replay decides with again; and the record's (strict) schema
  // stays one that control planes of the previous release accept.
  if (decision.require !== undefined) {
    const require: NonNullable<DecisionRecord['require']> = {};
    if (decision.require.level !== undefined) require.level = decision.require.level;
    if (decision.require.maxAge !== undefined) require.maxAge = decision.require.maxAge;
    if (decision.require.approvals !== undefined) require.approvals = decision.require.approvals;
    record.require = require;
  }
  if (entry.input !== undefined) record.input = entry.input;
  if (entry.shadow !== undefined) {
    record.shadow = {
      effect: entry.shadow.effect,
      revision: entry.shadow.revision,
      reasons: reasonRecords(entry.shadowReasons ?? []),
    };
  }
  if (decision.errors !== undefined && decision.errors.length > 0)
    record.errors = decision.errors.length;
  return record;
}

/** The record's `replay`: the evidence (clipped to the wire limits) and the masked paths. */
function replayRecord(entry: DecisionEntry): DecisionReplay {
  const replay: DecisionReplay = { version: REPLAY_RECORD_VERSION };
  const { evidence } = entry;
  if (evidence !== undefined) {
    const kept: NonNullable<DecisionReplay['evidence']> = {};
    const text = (value: string) => clip(value, RECORD_EVIDENCE_LIMITS.text);
    const list = (values: readonly string[]) =>
      values.slice(0, RECORD_EVIDENCE_LIMITS.items).map(text);
    if (typeof evidence.level === 'string') kept.level = text(evidence.level);
    if (typeof evidence.acr === 'string') kept.acr = text(evidence.acr);
    if (Array.isArray(evidence.amr)) kept.amr = list(evidence.amr);
    if (evidence.authTime !== undefined) {
      const time = new Date(evidence.authTime);
      if (!Number.isNaN(time.getTime())) kept.authTime = time.toISOString();
    }
    if (Array.isArray(evidence.approvals)) kept.approvals = list(evidence.approvals);
    if (Array.isArray(evidence.grants)) kept.grants = list(evidence.grants);
    replay.evidence = kept;
  }
  if (entry.masked !== undefined && entry.masked.length > 0)
    replay.masked = entry.masked
      .slice(0, RECORD_EVIDENCE_LIMITS.items)
      .map((path) => clip(path, RECORD_EVIDENCE_LIMITS.text));
  return replay;
}

/** Every declared signal (active, then any only the shadow declares) with the value read. */
function signalsRecord(entry: DecisionEntry): Record<string, SignalValueJson> {
  const out: Record<string, SignalValueJson> = {};
  const values = entry.signalValues;
  for (const declared of [entry.signalsDeclared ?? [], entry.shadowSignalsDeclared ?? []])
    for (const [name, zero] of declared)
      if (!Object.hasOwn(out, name))
        out[name] =
          values !== undefined && Object.hasOwn(values, name)
            ? (values[name] as SignalValueJson)
            : zero;
  return out;
}

function reasonRecords(reasons: readonly Reason[]): DecisionRecord['reasons'] {
  const out: DecisionRecord['reasons'] = [];
  const count = Math.min(reasons.length, MAX_REASONS);
  for (let i = 0; i < count; i++) {
    const reason = reasons[i] as Reason;
    out.push({ policy: reason.policy, rule: reason.rule, effect: reason.effect });
  }
  return out;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
