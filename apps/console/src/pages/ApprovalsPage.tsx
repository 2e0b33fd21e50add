import { useTitle } from '../components/useTitle';

// Being built: replaced by the full page in this change set.
export function ApprovalsPage() {
  useTitle('Approvals');
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Approvals</h1>
    </section>
  );
}
