import type { VersionDetail } from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';
import { formatVersionDetail } from './versions-command.js';

const version: VersionDetail = {
  id: '11111111-2222-3333-4444-555555555555',
  number: 7,
  sourceId: 'default',
  sha: 'abc1234def5678abc1234def5678abc1234def56',
  branch: 'main',
  author: 'Dana',
  message: 'stricter',
  committedAt: '2026-12-02T10:00:00.000Z',
  createdAt: '2026-12-02T10:00:05.000Z',
  status: 'ready',
  bundleHash: null,
  size: null,
  forcePush: false,
  pushedBy: 'token:admin',
  protectionChanged: false,
  active: false,
  shadow: false,
  errorCount: 0,
  tests: { passed: 3, failed: 0 },
  errors: [],
  testReport: null,
  replay: {
    id: 'r-1',
    status: 'done',
    since: '2026-12-01T10:00:05.000Z',
    until: '2026-12-02T10:00:05.000Z',
    totals: { records: 12, replayed: 10, changed: 3, notReplayable: 2 },
    changes: [{ change: 'allow -> step_up', count: 3 }],
    error: null,
  },
  activationHeld: {
    reason: 'its replay changes 3 of 10 decisions, more than activation.maxChanged 10%',
    changed: 3,
    total: 10,
    limit: '10%',
  },
};

describe('stepgate versions <n>', () => {
  it('shows the replay impact and why the activation gate holds the version', () => {
    const text = formatVersionDetail(version);
    expect(text).toContain(
      'Impact (replay r-1, 2026-12-01 10:00 to 2026-12-02 10:00 UTC): 3 of 10 decisions change, 2 not replayable',
    );
    expect(text).toContain('  allow -> step_up  3');
    expect(text).toContain(
      'Activation held by the gate (activation.maxChanged 10%): its replay changes 3 of 10 decisions, more than activation.maxChanged 10%',
    );
    expect(text).toContain("stepgate activate 7 --reason '<why>'");
  });

  it('shows a replay still running, and nothing for a version without one', () => {
    const running = {
      ...version,
      replay: { ...version.replay!, status: 'running' as const, totals: null, changes: [] },
      activationHeld: null,
    };
    expect(formatVersionDetail(running)).toContain('): running');
    expect(formatVersionDetail({ ...version, replay: null, activationHeld: null })).not.toContain(
      'Impact',
    );
  });
});
