import { Link } from 'wouter';

export interface TopRow {
  name: string;
  count: number;
  /** The Decisions page filtered by this row. */
  href: string;
}

/** One ranked list of the overview (rules or principals), each linking to its decisions. */
export function TopList({ title, rows }: { title: string; rows: TopRow[] }) {
  return (
    <div className="overview-top">
      <table>
        <caption>{title}</caption>
        <thead>
          <tr>
            <th scope="col">{title.endsWith('rules') ? 'Rule' : 'Principal'}</th>
            <th scope="col">Decisions</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.name}>
              <th scope="row">
                <Link href={row.href}>{row.name}</Link>
              </th>
              <td>{row.count.toLocaleString()}</td>
            </tr>
          ))}
          {rows.length === 0 ? (
            <tr>
              <td colSpan={2} className="muted">
                None in this window
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </div>
  );
}
