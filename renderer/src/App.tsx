import type { Verdict } from '#protocol';

const VERDICT_LABEL: Record<Verdict, string> = {
  ready: 'Ready',
  degraded: 'Works with limitations',
  'not-ready': 'Not ready',
};

/** Placeholder shell; the setup and dashboard views arrive with the desktop-app issues. */
export function App() {
  return (
    <main className="shell">
      <h1>Hearth</h1>
      <p>Development environments on your own machine.</p>
      <p className="muted">Readiness states: {Object.values(VERDICT_LABEL).join(' · ')}</p>
    </main>
  );
}
