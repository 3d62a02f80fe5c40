import { LogViewer } from './LogViewer.js';

/** hearthd's own log: admins see all of it, members the entries about their own environments. */
export function HearthdLogPage() {
  return (
    <main className="page">
      <LogViewer feed={{ kind: 'hearthd' }} label="hearthd log" />
    </main>
  );
}
