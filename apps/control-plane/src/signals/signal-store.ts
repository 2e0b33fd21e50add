import { createHash } from 'node:crypto';
import type { SignalAggregate, SignalDeclaration } from '@stepgate/policy';
import type { SignalUpdate, SignalValueJson } from '@stepgate/protocol';
import type { Redis } from 'ioredis';
import type { PlannedEvent } from './signal-plan.js';
import { INGEST_SCRIPT, RATE_LIMIT_SCRIPT, SWEEP_SCRIPT } from './signal-scripts.js';

/** Most events kept per (signal, subject): a count saturates here, retention stays bounded. */
export const MAX_MEMBERS_PER_KEY = 10_000;
/** Due entries one sweep claims (it runs again at once while more are due). */
export const SWEEP_BATCH = 1000;
/** Subjects read per round trip when building a snapshot. */
const SNAPSHOT_PAGE = 500;

/** A signal's current value for one subject, as `GET /v1/signals/{subject}` shows it. */
export interface CurrentValue {
  value: SignalValueJson;
  /** Epoch ms when it falls back to zero with no new event; null when it is zero. */
  expiresAt: number | null;
}

/** Every current value, and the highest sequence number issued before they were read. */
export interface SignalsSnapshot {
  seq: number;
  values: SignalUpdate[];
}

type ScriptClient = Redis & {
  signalsIngest(prefix: string, input: string): Promise<[number, RawChange[]]>;
  signalsSweep(prefix: string, input: string): Promise<[number, RawChange[]]>;
  signalsRateLimit(
    key: string,
    n: number,
    limit: number,
    windowMs: number,
  ): Promise<[number, number]>;
};
type RawChange = [string, string, string, string, number];

const ZERO: Record<SignalAggregate, SignalValueJson> = {
  count: 0,
  distinct: 0,
  exists: false,
  last: null,
};

/**
 * Risk signals in Redis: events aggregated per (signal, subject) over sliding windows, the
 * current values agents hold, and the per-token rate limit. Every change is one atomic script,
 * so replicas sharing the Redis prefix never double count nor recompute a value twice. Key
 * layout: see signal-scripts.ts.
 */
export class SignalStore {
  private readonly redis: ScriptClient;
  private readonly prefix: string;

  /** @param prefix the deployment's STEPGATE_REDIS_PREFIX */
  constructor(redis: Redis, prefix: string) {
    this.prefix = `${prefix}:signals`;
    redis.defineCommand('signalsIngest', { numberOfKeys: 1, lua: INGEST_SCRIPT });
    redis.defineCommand('signalsSweep', { numberOfKeys: 1, lua: SWEEP_SCRIPT });
    redis.defineCommand('signalsRateLimit', { numberOfKeys: 1, lua: RATE_LIMIT_SCRIPT });
    this.redis = redis as ScriptClient;
  }

  /** The key an event id is remembered by (hashed: ids are caller-chosen, up to 1 KiB). */
  dedupeKey(id: string): string {
    return createHash('sha256').update(id).digest('base64url');
  }

  /**
   * Adds events (those not seen before by id) to the signals they feed and returns the values
   * that changed, each with its new sequence number.
   */
  async ingest(
    events: PlannedEvent[],
    now: number,
  ): Promise<{ duplicates: number; changed: SignalUpdate[] }> {
    if (events.length === 0) return { duplicates: 0, changed: [] };
    const input = JSON.stringify({ now, cap: MAX_MEMBERS_PER_KEY, events });
    const [duplicates, changed] = await this.redis.signalsIngest(this.prefix, input);
    return { duplicates, changed: changed.map(toUpdate) };
  }

  /**
   * Claims the (signal, subject) values due to change by now (old events leaving the window)
   * and recomputes them; `claimed` counts the entries taken (a full batch: call again).
   */
  async sweep(
    signals: Record<string, SignalDeclaration>,
    now: number,
    limit = SWEEP_BATCH,
  ): Promise<{ claimed: number; changed: SignalUpdate[] }> {
    const declared: Record<string, { a: SignalAggregate; w: number }> = {};
    for (const [name, declaration] of Object.entries(signals))
      declared[name] = { a: declaration.aggregate, w: declaration.window * 1000 };
    // cjson turns an empty object into an empty table, which is fine: nothing is declared.
    const input = JSON.stringify({ now, cap: MAX_MEMBERS_PER_KEY, limit, signals: declared });
    const [claimed, changed] = await this.redis.signalsSweep(this.prefix, input);
    return { claimed, changed: changed.map(toUpdate) };
  }

  /** One subject's value of each signal, computed from its events in the window now. */
  async subject(
    subject: string,
    signals: Record<string, SignalDeclaration>,
    now: number,
  ): Promise<Record<string, CurrentValue>> {
    const names = Object.keys(signals);
    const pipeline = this.redis.pipeline();
    for (const name of names) {
      const key = `${this.prefix}:v:${name}:${subject}`;
      const windowMs = (signals[name] as SignalDeclaration).window * 1000;
      pipeline.zcount(key, `(${now - windowMs}`, '+inf');
      pipeline.zrange(key, '-1', '-1', 'WITHSCORES');
    }
    const results = (await pipeline.exec()) ?? [];
    const values: Record<string, CurrentValue> = {};
    names.forEach((name, index) => {
      const declaration = signals[name] as SignalDeclaration;
      const windowMs = declaration.window * 1000;
      const [countError, count] = results[index * 2] ?? [];
      const [newestError, newest] = results[index * 2 + 1] ?? [];
      if (countError) throw countError;
      if (newestError) throw newestError;
      const n = Math.min(Number(count), MAX_MEMBERS_PER_KEY);
      const [member, score] = (newest as string[] | undefined) ?? [];
      const newestTime = score === undefined ? Number.NaN : Number(score);
      if (n === 0 || !(newestTime > now - windowMs)) {
        values[name] = { value: ZERO[declaration.aggregate], expiresAt: null };
        return;
      }
      const value: SignalValueJson =
        declaration.aggregate === 'exists'
          ? true
          : declaration.aggregate === 'last'
            ? (JSON.parse(member as string) as SignalValueJson)
            : n;
      values[name] = { value, expiresAt: newestTime + windowMs };
    });
    return values;
  }

  /**
   * Every value agents should hold now (of the signals given), with the highest sequence number
   * issued before the read: a value that changes during the read carries a higher one.
   */
  async snapshot(
    signals: Record<string, SignalDeclaration>,
    now: number,
  ): Promise<SignalsSnapshot> {
    const seq = Number((await this.redis.get(`${this.prefix}:seq`)) ?? 0);
    const values: SignalUpdate[] = [];
    for (let offset = 0; ; offset += SNAPSHOT_PAGE) {
      const subjects = await this.redis.zrangebyscore(
        `${this.prefix}:subjects`,
        `(${now}`,
        '+inf',
        'LIMIT',
        offset,
        SNAPSHOT_PAGE,
      );
      if (subjects.length === 0) break;
      const pipeline = this.redis.pipeline();
      for (const subject of subjects) pipeline.hgetall(`${this.prefix}:cur:${subject}`);
      const held = (await pipeline.exec()) ?? [];
      subjects.forEach((subject, index) => {
        const [error, fields] = held[index] ?? [];
        if (error) throw error;
        for (const [name, raw] of Object.entries((fields ?? {}) as Record<string, string>)) {
          if (!Object.hasOwn(signals, name)) continue;
          const entry = JSON.parse(raw) as { v: string; e: string; s: number };
          const expiresAt = Number(entry.e);
          if (expiresAt <= now) continue;
          values.push({
            subject,
            name,
            value: JSON.parse(entry.v) as SignalValueJson,
            expiresAt,
            seq: entry.s,
          });
        }
      });
      if (subjects.length < SNAPSHOT_PAGE) break;
    }
    return { seq, values };
  }

  /**
   * Takes `n` events from a token's allowance of `limit` a second (one window shared by every
   * replica). Returns 0 when allowed, else the milliseconds until the window resets.
   */
  async rateLimit(tokenId: string, n: number, limit: number): Promise<number> {
    const [allowed, retryMs] = await this.redis.signalsRateLimit(
      `${this.prefix}:rate:${tokenId}`,
      n,
      limit,
      1000,
    );
    return allowed === 1 ? 0 : Math.max(1, retryMs);
  }
}

function toUpdate([name, subject, value, expiresAt, seq]: RawChange): SignalUpdate {
  return {
    subject,
    name,
    value: JSON.parse(value) as SignalValueJson,
    expiresAt: Number(expiresAt),
    seq: Number(seq),
  };
}
