import { versionDiffResponseSchema } from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';
import { formatVersionDiff } from './versions-diff-command.js';

const diff = versionDiffResponseSchema.parse({
  from: { number: 2, sha: 'aaaaaaa1111111111111111111111111111111aa' },
  to: { number: 3, sha: 'bbbbbbb2222222222222222222222222222222bb' },
  files: [
    { path: 'logo.png', status: 'added', patch: '', binary: true },
    { path: 'big.json', status: 'modified', patch: '', truncated: true },
    {
      path: 'p.yaml',
      status: 'modified',
      patch: '--- a/p.yaml\n+++ b/p.yaml\n@@ -1 +1 @@\n-a\u001b[31m\n+\tb\n',
    },
  ],
});

describe('stepgate versions diff', () => {
  it('prints a header, the patches, and a line for binary or truncated files', () => {
    expect(formatVersionDiff(diff)).toBe(
      [
        'version 2 (aaaaaaa) -> version 3 (bbbbbbb): 3 files changed',
        '',
        'Binary file logo.png added',
        '',
        'big.json modified: too large to show a patch',
        '',
        '--- a/p.yaml',
        '+++ b/p.yaml',
        '@@ -1 +1 @@',
        // Escape sequences from a file never reach the terminal; tabs stay.
        '-a [31m',
        '+\tb',
      ].join('\n'),
    );
  });

  it('names an empty tree as the first side and says when nothing differs', () => {
    expect(formatVersionDiff({ ...diff, from: null, files: [] })).toBe(
      'an empty tree -> version 3 (bbbbbbb): no files differ',
    );
  });
});
