import { useQuery } from '@tanstack/react-query';
import type { VersionDiffFile, VersionDiffResponse } from '@stepgate/protocol';
import { api } from '../../api/client';
import { ErrorMessage } from '../ErrorMessage';
import { parsePatch, type LineKind } from './unified-patch';

// The sign is the marker (WCAG 1.4.1: not colour alone); the colour only helps.
const SIGN: Record<LineKind, string> = { add: '+', remove: '-', context: ' ', hunk: '', note: '' };

function FileDiff({ file }: { file: VersionDiffFile }) {
  const lines = file.patch ? parsePatch(file.patch) : [];
  const added = lines.filter((line) => line.kind === 'add').length;
  const removed = lines.filter((line) => line.kind === 'remove').length;
  return (
    <section className="diff-file" aria-label={`${file.path} (${file.status})`}>
      <h3>
        <code>{file.path}</code> <span className={`badge diff-${file.status}`}>{file.status}</span>{' '}
        {lines.length > 0 ? (
          <span className="muted diff-counts">
            +{added} −{removed}
          </span>
        ) : null}
      </h3>
      {file.binary ? <p className="muted">Binary file: no text diff.</p> : null}
      {file.truncated ? <p className="muted">Too large to show here.</p> : null}
      {lines.length > 0 ? (
        <div className="diff-scroll">
          <table className="diff">
            <caption className="visually-hidden">Changed lines of {file.path}</caption>
            <thead>
              <tr>
                <th scope="col">Old line</th>
                <th scope="col">New line</th>
                <th scope="col">Line (+ added, - removed)</th>
              </tr>
            </thead>
            <tbody>
              {lines.map((line, index) =>
                line.kind === 'hunk' || line.kind === 'note' ? (
                  <tr key={index} className={`diff-${line.kind}`}>
                    <td colSpan={3}>
                      <code>{line.text}</code>
                    </td>
                  </tr>
                ) : (
                  <tr key={index} className={`diff-${line.kind}`}>
                    <td className="diff-number">{line.old ?? ''}</td>
                    <td className="diff-number">{line.new ?? ''}</td>
                    <td className="diff-text">
                      <code>
                        <span className="diff-sign">{SIGN[line.kind]}</span>
                        {line.text}
                      </code>
                    </td>
                  </tr>
                ),
              )}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

/**
 * The files of a version's policy folder that differ from another version (`against`; empty:
 * the version before it), each as its unified patch.
 */
export function DiffView({ version, against }: { version: number; against: string }) {
  const diff = useQuery({
    queryKey: ['versions', String(version), 'diff', against],
    queryFn: ({ signal }) =>
      api<VersionDiffResponse>(`/v1/versions/${version}/diff`, { query: { against }, signal }),
  });
  if (diff.error) return <ErrorMessage error={diff.error} title="Could not load the diff" />;
  if (!diff.data) return <p aria-busy="true">Loading the diff…</p>;
  const { from, to, files, truncated } = diff.data;
  return (
    <div className="diff-view">
      <p className="summary">
        {from ? `Version ${from.number}` : 'Nothing (no earlier version)'} → version {to.number}:{' '}
        {files.length === 0
          ? 'no file changed.'
          : `${files.length} file${files.length === 1 ? '' : 's'} changed.`}
      </p>
      {truncated ? (
        <p className="muted">More files differ than one answer lists; the rest are left out.</p>
      ) : null}
      {files.map((file) => (
        <FileDiff key={file.path} file={file} />
      ))}
    </div>
  );
}
