import { useQueryClient } from '@tanstack/react-query';
import { ElevateForm } from '../components/elevation/ElevateForm';
import { EnrolFactors } from '../components/elevation/EnrolFactors';
import { GRANTS_KEY, GrantsTable } from '../components/elevation/GrantsTable';
import { useTitle } from '../components/useTitle';

/**
 * Step-up for yourself: enrol a passkey or an authenticator app, elevate with one (for a scope
 * and lifetime you choose), and see or revoke the grants you hold.
 */
export function ElevationPage() {
  useTitle('Elevation');
  const client = useQueryClient();
  const refresh = () => void client.invalidateQueries({ queryKey: GRANTS_KEY });
  return (
    <section aria-labelledby="elevation-title">
      <h1 id="elevation-title">Elevation</h1>
      <p className="muted">
        Policies may ask for a stronger authentication before an action. Elevating gives you a grant
        that every agent honours until it expires or you revoke it.
      </p>
      <GrantsTable onRevoked={refresh} />
      <ElevateForm onGranted={refresh} />
      <EnrolFactors />
    </section>
  );
}
