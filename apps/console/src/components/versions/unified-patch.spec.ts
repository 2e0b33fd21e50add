import { describe, expect, it } from 'vitest';
import { parsePatch } from './unified-patch';

describe('parsePatch', () => {
  it('numbers old and new lines from each hunk header and leaves the file header out', () => {
    const patch = [
      '--- a/console/versions.yaml',
      '+++ b/console/versions.yaml',
      '@@ -1,3 +1,3 @@',
      ' kind: Policy',
      '-effect: allow',
      '+effect: deny',
      ' when: true',
      '@@ -20,2 +20,3 @@',
      ' a',
      '+b',
      ' c',
      '',
    ].join('\n');
    expect(parsePatch(patch)).toEqual([
      { kind: 'hunk', text: '@@ -1,3 +1,3 @@' },
      { kind: 'context', old: 1, new: 1, text: 'kind: Policy' },
      { kind: 'remove', old: 2, text: 'effect: allow' },
      { kind: 'add', new: 2, text: 'effect: deny' },
      { kind: 'context', old: 3, new: 3, text: 'when: true' },
      { kind: 'hunk', text: '@@ -20,2 +20,3 @@' },
      { kind: 'context', old: 20, new: 20, text: 'a' },
      { kind: 'add', new: 21, text: 'b' },
      { kind: 'context', old: 21, new: 22, text: 'c' },
    ]);
  });

  it('reads a removed "---" or an added "+++" inside a hunk as a line, not as a header', () => {
    const patch = ['--- a/x.yaml', '+++ b/x.yaml', '@@ -1,1 +1,1 @@', '----', '++++', ''].join(
      '\n',
    );
    expect(parsePatch(patch)).toEqual([
      { kind: 'hunk', text: '@@ -1,1 +1,1 @@' },
      { kind: 'remove', old: 1, text: '---' },
      { kind: 'add', new: 1, text: '+++' },
    ]);
  });

  it('keeps the missing-newline marker as a note, and reads a new file from /dev/null', () => {
    const patch = [
      '--- /dev/null',
      '+++ b/new.yaml',
      '@@ -0,0 +1 @@',
      '+only line',
      '\\ No newline at end of file',
    ].join('\n');
    expect(parsePatch(patch)).toEqual([
      { kind: 'hunk', text: '@@ -0,0 +1 @@' },
      { kind: 'add', new: 1, text: 'only line' },
      { kind: 'note', text: 'No newline at end of file' },
    ]);
  });

  it('has no lines for an empty patch (binary or truncated files)', () => {
    expect(parsePatch('')).toEqual([]);
  });
});
