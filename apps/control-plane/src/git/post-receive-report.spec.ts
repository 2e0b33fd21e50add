import { describe, expect, it } from 'vitest';
import { parseRefUpdates } from './post-receive-report.js';

describe('parseRefUpdates', () => {
  it('reads one update per line and ignores blank or malformed lines', () => {
    const old = '0'.repeat(40);
    const next = 'a'.repeat(40);
    expect(
      parseRefUpdates(`${old} ${next} refs/heads/main\n\nbogus\n${next} ${old} refs/tags/v1\n`),
    ).toEqual([
      { oldSha: old, newSha: next, ref: 'refs/heads/main' },
      { oldSha: next, newSha: old, ref: 'refs/tags/v1' },
    ]);
  });
});
