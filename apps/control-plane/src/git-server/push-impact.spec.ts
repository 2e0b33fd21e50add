import type { VersionReplaySummary } from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';
import { impactLines } from './push-impact.js';

const done: VersionReplaySummary = {
  id: 'r1',
  status: 'done',
  since: '2026-12-01T00:00:00.000Z',
  until: '2026-12-02T00:00:00.000Z',
  totals: { records: 120, replayed: 100, changed: 30, notReplayable: 20 },
  changes: [
    { change: 'allow -> step_up', count: 25 },
    { change: 'allow -> deny', count: 5 },
  ],
  error: null,
};

describe('impactLines', () => {
  it('prints the changed count, total and top changes of a finished replay', () => {
    expect(impactLines('abc1234', { version: 7, replay: done, activationHeld: null })).toEqual([
      'stepgate: version 7 replayed against the last 24 h: 30 of 100 decisions change (20 not replayable)',
      'stepgate:   allow -> step_up  25',
      'stepgate:   allow -> deny  5',
      'stepgate:   details: stepgate replay 7',
    ]);
  });

  it('prints the command to see it when the replay is not done in time', () => {
    const running = { ...done, status: 'running' as const, totals: null, changes: [] };
    expect(impactLines('abc1234', { version: 7, replay: running, activationHeld: null })).toEqual([
      'stepgate: the impact of version 7 on the last 24 h is not ready yet; see it with: stepgate versions 7',
    ]);
    expect(impactLines('abc1234', { replay: null, activationHeld: null })).toEqual([
      'stepgate: the impact of abc1234 on the last 24 h is not ready yet; see it with: stepgate versions abc1234',
    ]);
  });

  it('says the gate holds the version, why, and how to activate it with a reason', () => {
    const held = {
      reason: 'its replay changes 30 of 100 decisions',
      changed: 30,
      total: 100,
      limit: '10%',
    };
    const lines = impactLines('abc1234', { version: 7, replay: done, activationHeld: held });
    expect(lines.slice(-2)).toEqual([
      'stepgate: version 7 is NOT activated: the activation gate holds it (its replay changes 30 of 100 decisions);',
      "stepgate:   to activate it anyway: stepgate activate 7 --reason '<why>'",
    ]);
  });
});
