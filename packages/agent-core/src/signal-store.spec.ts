import type { SignalsPayload, SignalUpdate } from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';
import { FakeClock } from './__support__/fakes.js';
import { SignalStore } from './signal-store.js';

const HOUR = 3_600_000;

function setup() {
  const clock = new FakeClock();
  const store = new SignalStore({ clock, tombstoneMs: 60_000 });
  const at = (offsetMs: number) => clock.now() + offsetMs;
  const value = (
    subject: string,
    name: string,
    v: SignalUpdate['value'],
    seq: number,
    expiresAt = at(HOUR),
  ): SignalUpdate => ({ subject, name, value: v, seq, expiresAt });
  const message = (
    values: SignalUpdate[],
    options: { snapshot?: boolean; seq?: number } = {},
  ): SignalsPayload => ({
    format: 'stepgate.signals/v1',
    snapshot: options.snapshot ?? false,
    seq: options.seq ?? Math.max(0, ...values.map((v) => v.seq)),
    values,
    issuedAt: new Date(clock.now()).toISOString(),
  });
  return { clock, store, at, value, message };
}

describe('SignalStore', () => {
  it('holds nothing at first: undefined for any subject, size 0', () => {
    const { store } = setup();
    expect(store.valuesFor('alice')).toBeUndefined();
    expect(store.size).toBe(0);
    expect(store.subjectCount).toBe(0);
    expect(store.seq).toBe(0);
  });

  it('keeps the value with the highest seq per (subject, name), whatever order replicas deliver in', () => {
    const { store, value, message } = setup();
    // Replica B's newer value arrives before replica A's older one.
    expect(store.apply(message([value('alice', 'failed_logins', 3, 7)]))).toMatchObject({
      applied: 1,
    });
    expect(store.apply(message([value('alice', 'failed_logins', 2, 5)]))).toMatchObject({
      applied: 0,
      stale: 1,
    });
    expect(store.valuesFor('alice')).toEqual({ failed_logins: 3 });
    // The same seq again (a duplicate) changes nothing either.
    store.apply(message([value('alice', 'failed_logins', 9, 7)]));
    expect(store.valuesFor('alice')).toEqual({ failed_logins: 3 });
    store.apply(message([value('alice', 'failed_logins', 4, 8)]));
    expect(store.valuesFor('alice')).toEqual({ failed_logins: 4 });
    // Other names and subjects are independent.
    store.apply(
      message([value('alice', 'new_device', true, 2), value('bob', 'failed_logins', 1, 3)]),
    );
    expect(store.valuesFor('alice')).toEqual({ failed_logins: 4, new_device: true });
    expect(store.valuesFor('bob')).toEqual({ failed_logins: 1 });
    expect(store.size).toBe(3);
    expect(store.subjectCount).toBe(2);
    expect(store.seq).toBe(8);
  });

  it('reads a value as absent past its expiresAt without any message, and drops it', () => {
    const { clock, store, at, value, message } = setup();
    store.apply(
      message([
        value('alice', 'failed_logins', 3, 1, at(5_000)),
        value('alice', 'new_device', true, 2, at(60_000)),
      ]),
    );
    expect(store.valuesFor('alice')).toEqual({ failed_logins: 3, new_device: true });
    clock.advance(4_999);
    expect(store.valuesFor('alice')).toEqual({ failed_logins: 3, new_device: true });
    clock.advance(1);
    expect(store.valuesFor('alice')).toEqual({ new_device: true });
    expect(store.size).toBe(1);
    clock.advance(60_000);
    expect(store.valuesFor('alice')).toBeUndefined();
    expect(store.size).toBe(0);
    expect(store.subjectCount).toBe(0);
  });

  it('returns the same frozen object until the subject changes (no allocation per read)', () => {
    const { store, value, message } = setup();
    store.apply(message([value('alice', 'failed_logins', 3, 1)]));
    const first = store.valuesFor('alice');
    expect(store.valuesFor('alice')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    store.apply(message([value('alice', 'failed_logins', 4, 2)]));
    const second = store.valuesFor('alice');
    expect(second).not.toBe(first);
    // What an earlier decision read stays as it was.
    expect(first).toEqual({ failed_logins: 3 });
    expect(second).toEqual({ failed_logins: 4 });
  });

  it('removes a value with an update already past its expiresAt, and an older update cannot bring it back', () => {
    const { clock, store, at, value, message } = setup();
    store.apply(message([value('alice', 'failed_logins', 3, 4)]));
    expect(store.apply(message([value('alice', 'failed_logins', 0, 6, at(-1))]))).toMatchObject({
      removed: 1,
    });
    expect(store.valuesFor('alice')).toBeUndefined();
    expect(store.size).toBe(0);
    // Replica A's seq 5 arrives after replica B's removal at seq 6.
    store.apply(message([value('alice', 'failed_logins', 4, 5)]));
    expect(store.valuesFor('alice')).toBeUndefined();
    // A removal that overtakes the value it removes (nothing held yet) holds too.
    store.apply(message([value('bob', 'failed_logins', 0, 11, at(0))]));
    store.apply(message([value('bob', 'failed_logins', 2, 10)]));
    expect(store.valuesFor('bob')).toBeUndefined();
    // A newer value after a removal applies.
    store.apply(message([value('alice', 'failed_logins', 1, 12)]));
    expect(store.valuesFor('alice')).toEqual({ failed_logins: 1 });
    // Removals are forgotten after the tombstone time: memory stays bounded.
    clock.advance(61_000);
    store.sweep();
    expect(store.subjectCount).toBe(1);
    expect(store.size).toBe(1);
  });

  it('a snapshot drops what it does not list at or below its seq, keeps newer values, and applies what it lists', () => {
    const { store, value, message } = setup();
    store.apply(
      message([
        value('alice', 'failed_logins', 3, 4),
        value('alice', 'new_device', true, 5),
        value('bob', 'failed_logins', 2, 6),
        value('carol', 'failed_logins', 7, 12),
      ]),
    );
    const result = store.apply(
      message(
        [
          value('alice', 'failed_logins', 5, 9),
          // Older than what is held: the held value stays.
          value('carol', 'failed_logins', 6, 8),
          value('dave', 'last_country', 'NZ', 3),
        ],
        { snapshot: true, seq: 10 },
      ),
    );
    // new_device (seq 5) and bob (seq 6) are not listed as of seq 10: gone.
    expect(result).toEqual({ applied: 2, stale: 1, removed: 0, dropped: 2, reset: false });
    expect(store.valuesFor('alice')).toEqual({ failed_logins: 5 });
    expect(store.valuesFor('bob')).toBeUndefined();
    // carol's seq 12 is newer than the snapshot: kept although it lists an older value.
    expect(store.valuesFor('carol')).toEqual({ failed_logins: 7 });
    expect(store.valuesFor('dave')).toEqual({ last_country: 'NZ' });
    expect(store.size).toBe(3);
    expect(store.subjectCount).toBe(3);
  });

  it("a connection's first snapshot below the seq held means a new sequence: it replaces everything", () => {
    const { store, value, message } = setup();
    store.apply(
      message([value('alice', 'failed_logins', 1, 900), value('bob', 'failed_logins', 5, 950)]),
    );
    // The control plane's Redis lost its data: its sequence starts again.
    store.connected();
    const result = store.apply(
      message([value('carol', 'failed_logins', 2, 3)], { snapshot: true, seq: 4 }),
    );
    expect(result).toMatchObject({ reset: true, applied: 1, dropped: 2 });
    expect(store.valuesFor('alice')).toBeUndefined();
    expect(store.valuesFor('bob')).toBeUndefined();
    expect(store.valuesFor('carol')).toEqual({ failed_logins: 2 });
    // New values of the new sequence apply (they would have lost to seq 900 otherwise).
    store.apply(message([value('alice', 'failed_logins', 3, 5)]));
    expect(store.valuesFor('alice')).toEqual({ failed_logins: 3 });
    expect(store.seq).toBe(5);
  });

  it('only the first snapshot of a connection can reset, and not when its seq is at or above what was held', () => {
    const { store, value, message } = setup();
    store.apply(message([value('alice', 'failed_logins', 3, 10)]));
    store.connected();
    expect(
      store.apply(message([value('alice', 'failed_logins', 3, 10)], { snapshot: true, seq: 12 }))
        .reset,
    ).toBe(false);
    // A later snapshot of the same connection with a lower seq (a late copy) resets nothing.
    expect(store.apply(message([], { snapshot: true, seq: 2 })).reset).toBe(false);
    expect(store.valuesFor('alice')).toEqual({ failed_logins: 3 });
    // Nor does a snapshot without a new connection.
    const fresh = setup();
    fresh.store.apply(fresh.message([fresh.value('alice', 'failed_logins', 3, 10)]));
    expect(fresh.store.apply(fresh.message([], { snapshot: true, seq: 2 })).reset).toBe(false);
    expect(fresh.store.valuesFor('alice')).toEqual({ failed_logins: 3 });
  });

  it('an empty snapshot clears everything at or below its seq', () => {
    const { store, value, message } = setup();
    store.apply(message([value('alice', 'failed_logins', 3, 4), value('bob', 'x', 1, 9)]));
    store.apply(message([], { snapshot: true, seq: 5 }));
    expect(store.valuesFor('alice')).toBeUndefined();
    expect(store.valuesFor('bob')).toEqual({ x: 1 });
    expect(store.size).toBe(1);
  });

  it('a snapshot value already expired counts as a removal', () => {
    const { store, at, value, message } = setup();
    store.apply(message([value('alice', 'failed_logins', 3, 4)]));
    store.apply(
      message([value('alice', 'failed_logins', 3, 4, at(-10))], { snapshot: true, seq: 6 }),
    );
    // seq 4 equals what is held: stale, and as listed it is not dropped either.
    expect(store.valuesFor('alice')).toEqual({ failed_logins: 3 });
    store.apply(
      message([value('alice', 'failed_logins', 3, 7, at(-10))], { snapshot: true, seq: 7 }),
    );
    expect(store.valuesFor('alice')).toBeUndefined();
  });

  it('sweeps expired values of subjects nobody reads, a bounded number of subjects per call', () => {
    const { clock, store, at, value, message } = setup();
    const values = Array.from({ length: 100 }, (_, i) =>
      value(`user-${i}`, 'failed_logins', 1, i + 1, at(1_000)),
    );
    store.apply(message([...values, value('keeper', 'failed_logins', 1, 500)]));
    expect(store.size).toBe(101);
    clock.advance(2_000);
    expect(store.sweep(clock.now(), 40)).toBe(40);
    expect(store.size).toBe(61);
    store.sweep(clock.now(), 40);
    store.sweep(clock.now(), 40);
    expect(store.size).toBe(1);
    expect(store.subjectCount).toBe(1);
    expect(store.valuesFor('keeper')).toEqual({ failed_logins: 1 });
  });
});
