import { LogViewer } from './LogViewer.js';

/** hearthd's own log: admins see all of it, members the entries about their own environments. */
export function HearthdLogPage() {
  return (
    <main className="page">
      <h1>hearthd log</h1>
      <p className="muted">
        What the Hearth helper did, newest at the end. Administrators see every entry; members see the entries about
        their own environments.
      </p>
      <LogViewer feed={{ kind: 'hearthd' }} label="hearthd log" />
    </main>
  );
}
