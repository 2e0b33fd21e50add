import { useTitle } from '../components/useTitle';

// Being built: replaced by the full page in this change set.
export function ElevationPage() {
  useTitle('Elevation');
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Elevation</h1>
    </section>
  );
}
