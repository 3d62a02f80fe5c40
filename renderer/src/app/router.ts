import { useSyncExternalStore } from 'react';

/**
 * A tiny hash router: the app is loaded from a file (Electron) or a token URL (browser mode), so
 * the hash is the only part of the address it may change. Unknown hashes land on the dashboard.
 */
export type Route = 'dashboard' | 'setup';

const ROUTES: Record<string, Route> = { '#/': 'dashboard', '#/setup': 'setup' };
export const hrefOf: Record<Route, string> = { dashboard: '#/', setup: '#/setup' };

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
}

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash);
  return ROUTES[hash] ?? 'dashboard';
}

export function navigate(route: Route): void {
  window.location.hash = hrefOf[route];
}
