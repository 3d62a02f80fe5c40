import { hrefOf } from '../../app/router.js';
import { LogViewer } from './LogViewer.js';

const TITLES = { console: 'Console', events: 'Events' } as const;

/** One environment's console or event log with the whole window to itself. */
export function EnvironmentLogPage({ id, source }: { id: string; source: 'console' | 'events' }) {
  return (
    <main className="page">
      <p className="small">
        <a href={hrefOf({ page: 'environment', id })}>← {id}</a>
      </p>
      <h1>
        {TITLES[source]} of {id}
      </h1>
      <LogViewer feed={{ kind: 'environment', id, source }} label={`${TITLES[source]} of ${id}`} />
    </main>
  );
}
