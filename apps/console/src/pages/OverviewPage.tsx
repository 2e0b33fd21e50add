import { useTitle } from '../components/useTitle';

// Being built: replaced by the full page in this change set.
export function OverviewPage() {
  useTitle('Overview');
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Overview</h1>
    </section>
  );
}
