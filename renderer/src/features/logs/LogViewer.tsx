/**
 * Which log a viewer shows. An environment's console or its hearthd event log, or hearthd's own
 * log (admins: all of it; members: the entries about their own environments).
 */
export type LogFeed = { kind: 'environment'; id: string; source: 'console' | 'events' } | { kind: 'hearthd' };

export interface LogViewerProps {
  feed: LogFeed;
  /** Accessible name of the viewer region, e.g. "Console of web". */
  label: string;
}

/** Slot: the virtualized log viewer replaces this (issue #8, features/logs). */
export function LogViewer({ label }: LogViewerProps) {
  return (
    <section className="card" aria-label={label}>
      <p className="muted">Log viewer not built yet.</p>
    </section>
  );
}
