import { useTitle } from '../components/useTitle';

// Being built: replaced by the full page in this change set.
export function AuditPage() {
  useTitle('Audit');
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Audit</h1>
    </section>
  );
}
