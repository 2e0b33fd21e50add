import { useTitle } from '../components/useTitle';

// Being built: replaced by the full page in this change set.
export function LiveDataPage() {
  useTitle('LiveData');
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">LiveData</h1>
    </section>
  );
}
