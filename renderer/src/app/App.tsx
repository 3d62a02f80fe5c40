import { Dashboard } from '../features/environments/Dashboard.js';
import { SetupPage } from '../features/setup/SetupPage.js';
import { useAppInfo } from '../queries.js';
import { hrefOf, useRoute, type Route } from './router.js';
import { useMainSync } from './useMainSync.js';

const TITLES: Record<Route, string> = { dashboard: 'Environments', setup: 'Setup' };

/** The shell: top bar with navigation, and the page the hash names. */
export function App() {
  const fatal = useMainSync();
  const route = useRoute();
  const info = useAppInfo();

  if (fatal !== null) {
    return (
      <main className="page">
        <div className="banner banner-fail" role="alert">
          <strong>Hearth cannot reach its own app process.</strong> {fatal}
        </div>
      </main>
    );
  }

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <img className="logo" src="./hearth.png" alt="" width={24} height={24} />
          <span className="brand-name">Hearth</span>
        </div>
        <nav className="nav" aria-label="Pages">
          {(Object.keys(TITLES) as Route[]).map((r) => (
            <a key={r} className="nav-link" href={hrefOf[r]} aria-current={r === route ? 'page' : undefined}>
              {TITLES[r]}
            </a>
          ))}
        </nav>
        <div className="topbar-meta">
          {info.data && (
            <span className="muted small">
              app {info.data.version}
              {info.data.shell === 'browser' ? ' · browser mode' : ''}
            </span>
          )}
        </div>
      </header>
      {route === 'setup' ? <SetupPage /> : <Dashboard />}
    </div>
  );
}
