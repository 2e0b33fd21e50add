import type { SignalsPayload, SignalUpdate, SignalValueJson } from '@stepgate/protocol';
import { systemClock, type Clock } from './ports.js';

/** One subject's unexpired signal values by name, as decisions read them. Never modified. */
export type SignalValues = Readonly<Record<string, SignalValueJson>>;

/** What applying one signals message did. */
export interface SignalsApplyResult {
  /** Values taken (new, or newer than the one held). */
  applied: number;
  /** Values at or below the `seq` already held for their (subject, name): ignored. */
  stale: number;
  /** Values removed by an update already past its `expiresAt` (a zero value). */
  removed: number;
  /** Values a snapshot dropped (held at or below its `seq`, not listed). */
  dropped: number;
  /**
   * The first snapshot of a connection came with a `seq` below what the agent held before it
   * connected: the control plane's sequence started again (its Redis lost its data), so
   * everything held was dropped and the snapshot taken as the whole truth.
   */
  reset: boolean;
}

export interface SignalStoreOptions {
  clock?: Clock;
  /**
   * How long a removal is remembered (ms), so that an older update arriving after it through
   * another replica does not bring the value back. Default 60 s.
   */
  tombstoneMs?: number;
}

/** One (subject, name) as held: a value, or the memory of its removal (`removed`). */
interface Held {
  value: SignalValueJson;
  /** Epoch ms: past it the value reads as its zero value (a removal: when it is forgotten). */
  expiresAt: number;
  seq: number;
  removed: boolean;
}

class SubjectSignals {
  readonly held = new Map<string, Held>();
  /** Values held that are not removals (some may have expired and not been dropped yet). */
  live = 0;
  /** The unexpired values as one frozen object, or undefined when there are none. */
  view: SignalValues | undefined;
  /** The view stands while now < validUntil (the earliest expiry in it); -Infinity: rebuild. */
  validUntil = -Infinity;
}

const DEFAULT_TOMBSTONE_MS = 60_000;
/** Subjects looked at per sweep call: a sweep never stalls the event loop for long. */
const DEFAULT_SWEEP_BUDGET = 5_000;

/**
 * The risk-signal values pushed by the control plane (issue 13), per subject and name, as
 * verified `stepgate.signals/v1` payloads. Rules, from the protocol:
 * - per (subject, name) the value with the highest `seq` wins, whatever order messages arrive
 *   in (two control-plane replicas may deliver out of order);
 * - a snapshot lists every current value as of its `seq`: a value held at or below that `seq`
 *   and not listed is dropped, a newer one kept;
 * - past `expiresAt` a value reads as absent (the zero value), so an agent cut off from the
 *   control plane does not keep a signal forever; an update already past its `expiresAt` removes
 *   the value (remembered for `tombstoneMs`, so an older update cannot bring it back).
 *
 * {@link valuesFor} is on the decision path: one Map lookup, and no allocation when the subject
 * holds nothing or nothing changed since the last read. Expired values are dropped lazily when
 * read, and by {@link sweep} for subjects nobody asks about, so memory stays bounded by what
 * the control plane currently holds. Not persisted: a restarted agent reads zero values until
 * the control plane's snapshot arrives on the next connection.
 */
export class SignalStore {
  private readonly subjects = new Map<string, SubjectSignals>();
  private readonly clock: Clock;
  private readonly tombstoneMs: number;
  private values = 0;
  private holding = 0;
  private highestSeq = 0;
  /** The highest seq when the current connection started; undefined once its snapshot came. */
  private seqAtConnect: number | undefined;
  private cursor: Iterator<[string, SubjectSignals]> | undefined;

  constructor(options: SignalStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.tombstoneMs = options.tombstoneMs ?? DEFAULT_TOMBSTONE_MS;
  }

  /** Values held (expired ones not yet dropped included). */
  get size(): number {
    return this.values;
  }

  /** Subjects holding at least one value. */
  get subjectCount(): number {
    return this.holding;
  }

  /** The highest `seq` seen (in a message or a value); 0 before the first message. */
  get seq(): number {
    return this.highestSeq;
  }

  /**
   * The subject's unexpired values by name, or undefined when it holds none. The object is
   * frozen and shared until the subject's values change: keep it (a decision record does).
   */
  valuesFor(subject: string, nowMs: number = this.clock.now()): SignalValues | undefined {
    const signals = this.subjects.get(subject);
    if (signals === undefined) return undefined;
    if (nowMs < signals.validUntil) return signals.view;
    return this.refresh(subject, signals, nowMs);
  }

  /**
   * A new connection to the control plane: its first snapshot is checked against the sequence
   * held now (see {@link SignalsApplyResult.reset}).
   */
  connected(): void {
    this.seqAtConnect = this.highestSeq;
  }

  /** Applies a verified payload (see {@link verifySignalsMessage} in @stepgate/protocol). */
  apply(payload: SignalsPayload, nowMs: number = this.clock.now()): SignalsApplyResult {
    const result: SignalsApplyResult = {
      applied: 0,
      stale: 0,
      removed: 0,
      dropped: 0,
      reset: false,
    };
    if (payload.snapshot && this.seqAtConnect !== undefined) {
      // Within one sequence a snapshot is read after every seq issued before it, so one below
      // what was held means a new sequence: the values held would otherwise outrank every new
      // value until they expire (a whole window of missed failed logins).
      if (payload.seq < this.seqAtConnect) {
        result.dropped = this.values;
        this.clear();
        result.reset = true;
      }
      this.seqAtConnect = undefined;
    }
    if (payload.seq > this.highestSeq) this.highestSeq = payload.seq;
    for (const update of payload.values) this.put(update, nowMs, result);
    if (payload.snapshot) this.dropUnlisted(payload, result);
    return result;
  }

  /**
   * Drops expired values and forgotten removals of up to `budget` subjects, continuing where
   * the last call stopped; returns how many entries went. Call it from a timer.
   */
  sweep(nowMs: number = this.clock.now(), budget: number = DEFAULT_SWEEP_BUDGET): number {
    let removed = 0;
    for (let seen = 0; seen < budget; seen++) {
      this.cursor ??= this.subjects.entries();
      const next = this.cursor.next();
      if (next.done === true) {
        this.cursor = undefined;
        break;
      }
      const [subject, signals] = next.value;
      for (const [name, held] of signals.held)
        if (held.expiresAt <= nowMs) {
          this.remove(signals, name, held);
          removed++;
        }
      this.settle(subject, signals);
    }
    return removed;
  }

  private clear(): void {
    this.subjects.clear();
    this.values = 0;
    this.holding = 0;
    this.highestSeq = 0;
    this.cursor = undefined;
  }

  private put(update: SignalUpdate, nowMs: number, result: SignalsApplyResult): void {
    if (update.seq > this.highestSeq) this.highestSeq = update.seq;
    let signals = this.subjects.get(update.subject);
    const held = signals?.held.get(update.name);
    if (held !== undefined && held.seq >= update.seq) {
      result.stale++;
      return;
    }
    const expired = update.expiresAt <= nowMs;
    if (signals === undefined) {
      signals = new SubjectSignals();
      this.subjects.set(update.subject, signals);
    }
    const wasLive = held !== undefined && !held.removed;
    if (expired) {
      signals.held.set(update.name, {
        value: null,
        expiresAt: nowMs + this.tombstoneMs,
        seq: update.seq,
        removed: true,
      });
      if (wasLive) this.countLive(signals, -1);
      result.removed++;
    } else {
      signals.held.set(update.name, {
        value: update.value,
        expiresAt: update.expiresAt,
        seq: update.seq,
        removed: false,
      });
      if (!wasLive) this.countLive(signals, 1);
      result.applied++;
    }
    signals.validUntil = -Infinity;
  }

  /** A snapshot: what is held at or below its seq and not listed is no longer current. */
  private dropUnlisted(payload: SignalsPayload, result: SignalsApplyResult): void {
    const listed = new Map<string, Set<string>>();
    for (const { subject, name } of payload.values) {
      let names = listed.get(subject);
      if (names === undefined) listed.set(subject, (names = new Set()));
      names.add(name);
    }
    for (const [subject, signals] of this.subjects) {
      const names = listed.get(subject);
      for (const [name, held] of signals.held)
        if (held.seq <= payload.seq && names?.has(name) !== true) {
          if (!held.removed) result.dropped++;
          this.remove(signals, name, held);
        }
      this.settle(subject, signals);
    }
  }

  /** Rebuilds the subject's view at `nowMs`, dropping what expired. */
  private refresh(
    subject: string,
    signals: SubjectSignals,
    nowMs: number,
  ): SignalValues | undefined {
    let view: Record<string, SignalValueJson> | undefined;
    let validUntil = Infinity;
    for (const [name, held] of signals.held) {
      if (held.expiresAt <= nowMs) {
        this.remove(signals, name, held);
        continue;
      }
      if (held.removed) continue;
      // Names are `[a-z][a-z0-9_]*` (checked by the protocol schema): no prototype keys.
      (view ??= {})[name] = held.value;
      if (held.expiresAt < validUntil) validUntil = held.expiresAt;
    }
    signals.view = view === undefined ? undefined : Object.freeze(view);
    signals.validUntil = validUntil;
    this.settle(subject, signals);
    return signals.view;
  }

  private remove(signals: SubjectSignals, name: string, held: Held): void {
    signals.held.delete(name);
    if (!held.removed) this.countLive(signals, -1);
    signals.validUntil = -Infinity;
  }

  /** Forgets a subject that holds nothing any more. */
  private settle(subject: string, signals: SubjectSignals): void {
    if (signals.held.size === 0) this.subjects.delete(subject);
  }

  private countLive(signals: SubjectSignals, delta: 1 | -1): void {
    if (delta === 1 && signals.live === 0) this.holding++;
    signals.live += delta;
    this.values += delta;
    if (delta === -1 && signals.live === 0) this.holding--;
  }
}
