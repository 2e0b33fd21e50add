import type { VersionReplaySummary } from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';
import { activationHold, replaySummary } from './version-impact.js';

const gate = { maxChanged: { percent: 10 } };
const done = (changed: number, replayed: number): VersionReplaySummary => ({
  id: 'r',
  status: 'done',
  since: '2026-12-01T00:00:00.000Z',
  until: '2026-12-02T00:00:00.000Z',
  totals: { records: replayed + 2, replayed, changed, notReplayable: 2 },
  changes: [],
  error: null,
});

describe('activationHold', () => {
  it('lets everything through without a gate, even a failed or missing replay', () => {
    expect(activationHold(undefined, done(100, 100))).toBeNull();
    expect(activationHold(undefined, null)).toBeNull();
  });

  it('holds a replay over the limit (of the replayed decisions), not one at or under it', () => {
    expect(activationHold(gate, done(10, 100))).toBeNull();
    expect(activationHold(gate, done(11, 100))).toEqual({
      reason: 'its replay changes 11 of 100 decisions, more than activation.maxChanged 10%',
      changed: 11,
      total: 100,
      limit: '10%',
    });
    expect(activationHold({ maxChanged: { count: 5 } }, done(6, 1000))?.limit).toBe('5');
  });

  it('holds when the impact is unknown: no replay, not finished, failed or cancelled', () => {
    const unknown = { changed: null, total: null, limit: '10%' };
    expect(activationHold(gate, null)).toMatchObject(unknown);
    expect(activationHold(gate, { ...done(0, 0), status: 'running', totals: null })).toMatchObject({
      ...unknown,
      reason: 'its replay has not finished; auto-activation waits for its impact',
    });
    expect(
      activationHold(gate, { ...done(0, 0), status: 'failed', totals: null, error: 'boom' }),
    ).toMatchObject({ ...unknown, reason: 'its replay failed (boom), so its impact is unknown' });
    expect(
      activationHold(gate, { ...done(0, 0), status: 'cancelled', totals: null }),
    ).toMatchObject(unknown);
  });

  it('summarises a replay row: totals and at most 5 changes once done, none before', () => {
    const row = {
      id: 'r',
      status: 'done',
      since: new Date('2026-12-01T00:00:00Z'),
      until: new Date('2026-12-02T00:00:00Z'),
      error: null,
      result: {
        totals: { records: 9, replayed: 9, changed: 9, notReplayable: 0 },
        changes: Array.from({ length: 7 }, (_, i) => ({ change: `c${i}`, count: 1, examples: [] })),
      },
    };
    const summary = replaySummary(row);
    expect(summary.changes).toHaveLength(5);
    expect(summary.changes[0]).toEqual({ change: 'c0', count: 1 });
    expect(replaySummary({ ...row, status: 'running' })).toMatchObject({
      totals: null,
      changes: [],
    });
  });
});
