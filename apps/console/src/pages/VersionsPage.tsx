import { useTitle } from '../components/useTitle';

// Being built: replaced by the full page in this change set.
export function VersionsPage() {
  useTitle('Versions');
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Versions</h1>
    </section>
  );
}
