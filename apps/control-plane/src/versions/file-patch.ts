import {
  VERSION_DIFF_MAX_FILE_BYTES,
  VERSION_DIFF_MAX_PATCH_BYTES,
  type VersionDiffFile,
} from '@stepgate/protocol';
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';

/**
 * Past this many line edits the diff gives up (Myers' algorithm is O(N·D)): a rewritten file of
 * tens of thousands of lines is shown as truncated rather than pinning a CPU.
 */
const MAX_EDIT_LENGTH = 20_000;

/** Git's test: a NUL byte in the first 8000 bytes makes a file binary. */
function isBinary(bytes: Uint8Array | undefined): boolean {
  return bytes !== undefined && bytes.subarray(0, 8000).includes(0);
}

/**
 * The diff entry of one changed file, `before`/`after` undefined for a side without it. Files
 * over VERSION_DIFF_MAX_FILE_BYTES and patches over VERSION_DIFF_MAX_PATCH_BYTES are marked
 * truncated with an empty patch; binary files get an empty patch.
 */
export function filePatch(
  path: string,
  before: Uint8Array | undefined,
  after: Uint8Array | undefined,
): VersionDiffFile {
  const status = before === undefined ? 'added' : after === undefined ? 'removed' : 'modified';
  const entry = { path, status, patch: '' } as const;
  if (isBinary(before) || isBinary(after)) return { ...entry, binary: true };
  if ((before?.byteLength ?? 0) > VERSION_DIFF_MAX_FILE_BYTES) return { ...entry, truncated: true };
  if ((after?.byteLength ?? 0) > VERSION_DIFF_MAX_FILE_BYTES) return { ...entry, truncated: true };
  const text = (bytes: Uint8Array | undefined) =>
    bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') : '';
  const patch = createTwoFilesPatch(
    before ? `a/${path}` : '/dev/null',
    after ? `b/${path}` : '/dev/null',
    text(before),
    text(after),
    undefined,
    undefined,
    { headerOptions: FILE_HEADERS_ONLY, maxEditLength: MAX_EDIT_LENGTH },
  );
  if (patch === undefined || Buffer.byteLength(patch) > VERSION_DIFF_MAX_PATCH_BYTES)
    return { ...entry, truncated: true };
  return { ...entry, patch };
}
