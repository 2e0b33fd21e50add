import { useCallback, useState } from 'react';

/**
 * Cursor paging over an API list that answers `nextCursor` (older pages): the cursors of the
 * pages seen are kept so "Newer" goes back without the server knowing about pages.
 */
export function useCursorPages(resetKey: string) {
  const [state, setState] = useState<{ key: string; cursors: (string | undefined)[] }>({
    key: resetKey,
    cursors: [undefined],
  });
  // A new filter starts again at the newest page.
  const cursors = state.key === resetKey ? state.cursors : [undefined];
  const cursor = cursors[cursors.length - 1];
  const older = useCallback(
    (next: string) => setState({ key: resetKey, cursors: [...cursors, next] }),
    [cursors, resetKey],
  );
  const newer = useCallback(
    () => setState({ key: resetKey, cursors: cursors.slice(0, -1) }),
    [cursors, resetKey],
  );
  return { cursor, page: cursors.length, older, newer };
}

export function Pager({
  page,
  nextCursor,
  onOlder,
  onNewer,
  label,
}: {
  page: number;
  nextCursor: string | null | undefined;
  onOlder: (cursor: string) => void;
  onNewer: () => void;
  label: string;
}) {
  return (
    <nav className="pager" aria-label={`${label} pages`}>
      <button type="button" className="secondary" disabled={page <= 1} onClick={onNewer}>
        Newer
      </button>
      <span aria-live="polite">Page {page}</span>
      <button
        type="button"
        className="secondary"
        disabled={!nextCursor}
        onClick={() => nextCursor && onOlder(nextCursor)}
      >
        Older
      </button>
    </nav>
  );
}
