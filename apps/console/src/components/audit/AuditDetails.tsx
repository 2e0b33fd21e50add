/**
 * An audit event's details, folded: the summary names what is inside, the JSON opens on demand
 * (details can be long, a row should not be).
 */
export function AuditDetails({ details }: { details: unknown }) {
  if (details === null || details === undefined) return <span className="muted">—</span>;
  const keys =
    typeof details === 'object' && !Array.isArray(details) ? Object.keys(details) : undefined;
  const summary = keys
    ? keys.length === 0
      ? 'empty'
      : keys.slice(0, 4).join(', ') + (keys.length > 4 ? ', …' : '')
    : 'value';
  return (
    <details className="audit-details">
      <summary>{summary}</summary>
      <pre tabIndex={0}>{JSON.stringify(details, null, 2)}</pre>
    </details>
  );
}
