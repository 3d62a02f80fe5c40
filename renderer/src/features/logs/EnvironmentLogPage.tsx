import { hrefOf } from '../../app/router.js';
import { useEnvironments } from '../environments/queries.js';
import { LogViewer } from './LogViewer.js';

const TITLES = { console: 'Console', events: 'Events' } as const;

/** One environment's console or event log with the whole window to itself. */
export function EnvironmentLogPage({ id, source }: { id: string; source: 'console' | 'events' }) {
  // The address may carry the id or the name; the page names it as people do.
  const name = useEnvironments(true).data?.find((e) => e.id === id || e.name === id)?.name ?? id;
  return (
    <main className="page">
      <p className="small">
        <a href={hrefOf({ page: 'environment', id })}>← {name}</a>
      </p>
      <h1>
        {TITLES[source]} of {name}
      </h1>
      <LogViewer feed={{ kind: 'environment', id, source }} label={`${TITLES[source]} of ${name}`} />
    </main>
  );
}
