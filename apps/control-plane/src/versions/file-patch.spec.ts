import { VERSION_DIFF_MAX_FILE_BYTES } from '@stepgate/protocol';
import { describe, expect, it } from 'vitest';
import { filePatch } from './file-patch.js';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('filePatch', () => {
  it('writes a unified diff of a modified file', () => {
    expect(filePatch('p.yaml', bytes('a\nb\nc\n'), bytes('a\nB\nc\n'))).toEqual({
      path: 'p.yaml',
      status: 'modified',
      patch: '--- a/p.yaml\n+++ b/p.yaml\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n',
    });
  });

  it('diffs an added file against /dev/null and a removed one to it', () => {
    expect(filePatch('n.yaml', undefined, bytes('x\n'))).toEqual({
      path: 'n.yaml',
      status: 'added',
      patch: '--- /dev/null\n+++ b/n.yaml\n@@ -0,0 +1,1 @@\n+x\n',
    });
    expect(filePatch('o.yaml', bytes('y\n'), undefined)).toEqual({
      path: 'o.yaml',
      status: 'removed',
      patch: '--- a/o.yaml\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-y\n',
    });
  });

  it('gives no text patch for a binary file', () => {
    expect(filePatch('logo.png', bytes('x'), new Uint8Array([137, 80, 0, 1]))).toEqual({
      path: 'logo.png',
      status: 'modified',
      patch: '',
      binary: true,
    });
  });

  it('marks a file over the size limit truncated without diffing it', () => {
    const big = new Uint8Array(VERSION_DIFF_MAX_FILE_BYTES + 1).fill(0x61);
    expect(filePatch('big.json', undefined, big)).toEqual({
      path: 'big.json',
      status: 'added',
      patch: '',
      truncated: true,
    });
  });

  it('marks a patch over the patch limit truncated', () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'x'.repeat(10)}`).join(
      '\n',
    );
    expect(filePatch('many.yaml', undefined, bytes(lines))).toMatchObject({
      status: 'added',
      patch: '',
      truncated: true,
    });
  });
});
