/** Reading a unified patch (`diff -u`, as GET /v1/versions/{ref}/diff sends) into lines. */

export type LineKind = 'add' | 'remove' | 'context' | 'hunk' | 'note';

export interface DiffLine {
  kind: LineKind;
  /** Line numbers in the old and the new file (hunk headers and notes have none). */
  old?: number;
  new?: number;
  text: string;
}

const HUNK = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/;

/** A unified patch as numbered lines; the `---`/`+++` header is left out (the file heading names it). */
export function parsePatch(patch: string): DiffLine[] {
  const lines: DiffLine[] = [];
  let old = 0;
  let next = 0;
  let inHunk = false;
  for (const raw of patch.split('\n')) {
    const hunk = HUNK.exec(raw);
    if (hunk) {
      old = Number(hunk[1]);
      next = Number(hunk[2]);
      inHunk = true;
      lines.push({ kind: 'hunk', text: raw });
    } else if (!inHunk) {
      continue;
    } else if (raw.startsWith('+')) {
      lines.push({ kind: 'add', new: next++, text: raw.slice(1) });
    } else if (raw.startsWith('-')) {
      lines.push({ kind: 'remove', old: old++, text: raw.slice(1) });
    } else if (raw.startsWith(' ')) {
      lines.push({ kind: 'context', old: old++, new: next++, text: raw.slice(1) });
    } else if (raw.startsWith('\\')) {
      lines.push({ kind: 'note', text: raw.slice(1).trim() });
    }
  }
  return lines;
}
