import { EnvironmentPage } from '../features/environment/EnvironmentPage.js';
import { Dashboard } from '../features/environments/Dashboard.js';
import { EnvironmentLogPage } from '../features/logs/EnvironmentLogPage.js';
import { HearthdLogPage } from '../features/logs/HearthdLogPage.js';
import { SettingsPage } from '../features/settings/SettingsPage.js';
import { HelperStatusDot } from '../features/helper-state/HelperState.js';
import { SetupPage } from '../features/setup/SetupPage.js';
import { useSetupAtStart } from '../features/setup/useSetup.js';
import { useAppInfo } from '../queries.js';
import { hrefOf, NAV_PAGES, useRoute, type Route } from './router.js';
import { useMainSync } from './useMainSync.js';

const TITLES = { dashboard: 'Environments', logs: 'Logs', settings: 'Settings', setup: 'Setup' } as const;
/**
 * The title of a page whose own markup has no <h1> (the wizard's steps title themselves with <h2>s):
 * the shell names it, so every screen has one page title.
 */
const shellTitle = (route: Route): string | null => (route.page === 'setup' ? TITLES[route.page] : null);

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'environment':
      return <EnvironmentPage id={route.id} />;
    case 'logs':
      return <HearthdLogPage />;
    case 'environment-log':
      return <EnvironmentLogPage id={route.id} source={route.source} />;
    case 'settings':
      return <SettingsPage section={route.section} />;
    case 'setup':
      return <SetupPage step={route.step} />;
    case 'dashboard':
      return <Dashboard />;
  }
}

/** The shell: top bar with navigation, and the page the hash names. */
export function App() {
  const fatal = useMainSync();
  const route = useRoute();
  const info = useAppInfo();
  useSetupAtStart(route);

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
        {/* In the banner landmark, so the hidden title is not content outside every landmark. */}
        {shellTitle(route) !== null && <h1 className="visually-hidden">{shellTitle(route)}</h1>}
        <nav className="nav" aria-label="Pages">
          {NAV_PAGES.map((page) => (
            <a
              key={page}
              className="nav-link"
              href={hrefOf({ page })}
              aria-current={
                page === route.page ||
                (page === 'dashboard' && (route.page === 'environment' || route.page === 'environment-log'))
                  ? 'page'
                  : undefined
              }
            >
              {TITLES[page]}
            </a>
          ))}
        </nav>
        <div className="topbar-meta">
          <HelperStatusDot />
          {info.data && (
            <span className="muted small">
              app {info.data.version}
              {info.data.shell === 'browser' ? ' · browser mode' : ''}
            </span>
          )}
        </div>
      </header>
      <Page route={route} />
    </div>
  );
}
