import { useRoute, useSearch } from 'wouter';
import { DecisionDetail } from '../components/decisions/DecisionDetail';
import { DecisionList } from '../components/decisions/DecisionList';
import { useTitle } from '../components/useTitle';

/** `/decisions`: the decision log (filters in the query string); `/decisions/:id`: one decision. */
export function DecisionsPage() {
  const [isDetail, params] = useRoute<{ id: string }>('/decisions/:id');
  const id = isDetail ? decodeId(params.id) : undefined;
  useTitle(id ? 'Decision' : 'Decisions');
  const search = useSearch();
  return (
    <section aria-labelledby="decisions-title">
      <h1 id="decisions-title">{id ? 'Decision' : 'Decisions'}</h1>
      {id ? <DecisionDetail id={id} listSearch={search} /> : <DecisionList />}
    </section>
  );
}

function decodeId(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
