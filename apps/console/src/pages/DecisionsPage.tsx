import { useTitle } from '../components/useTitle';

// Being built: replaced by the full page in this change set.
export function DecisionsPage() {
  useTitle('Decisions');
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Decisions</h1>
    </section>
  );
}
