import { useRoute } from 'wouter';
import { DataSourceTable } from '../components/live-data/DataSources';
import { DocumentList } from '../components/live-data/DocumentList';
import { DocumentView } from '../components/live-data/DocumentView';
import { SignalLookup } from '../components/live-data/SignalLookup';
import { useTitle } from '../components/useTitle';

/**
 * Live data and signals: the live documents (each viewed, edited with a reason and its history
 * at /live-data/<name>), the data sources feeding some of them, and a subject's risk signals.
 */
export function LiveDataPage() {
  const [isDocument, params] = useRoute<{ name: string }>('/live-data/:name');
  if (isDocument) return <DocumentView key={params.name} name={params.name} />;
  return <Overview />;
}

function Overview() {
  useTitle('Live data and signals');
  return (
    <section aria-labelledby="live-data-title">
      <h1 id="live-data-title">Live data and signals</h1>
      <DocumentList />
      <DataSourceTable />
      <SignalLookup />
    </section>
  );
}
