import { useSyncExternalStore } from 'react';

/**
 * A tiny hash router: the app is loaded from a file (Electron) or a token URL (browser mode), so
 * the hash is the only part of the address it may change. Unknown hashes land on the dashboard.
 */
export type Route =
  | { page: 'dashboard' }
  | { page: 'environment'; id: string }
  /** One of an environment's logs on a page of its own (room for a long console). */
  | { page: 'environment-log'; id: string; source: 'console' | 'events' }
  | { page: 'logs' }
  /** `section`: a part of Settings to scroll to (a link from the create form to Repository access). */
  | { page: 'settings'; section?: SettingsSection }
  | { page: 'setup'; step?: string };
export type PageName = Route['page'];
export const SETTINGS_SECTIONS = ['repositories'] as const;
export type SettingsSection = (typeof SETTINGS_SECTIONS)[number];

/** The pages the top bar links to, in order. */
export const NAV_PAGES = ['dashboard', 'logs', 'settings', 'setup'] as const satisfies readonly PageName[];

export function hrefOf(route: Route): string {
  switch (route.page) {
    case 'dashboard':
      return '#/';
    case 'environment':
      return `#/environments/${encodeURIComponent(route.id)}`;
    case 'setup':
      return route.step === undefined ? '#/setup' : `#/setup/${encodeURIComponent(route.step)}`;
    case 'environment-log':
      return `#/environments/${encodeURIComponent(route.id)}/${route.source}`;
    case 'settings':
      return route.section === undefined ? '#/settings' : `#/settings/${route.section}`;
    default:
      return `#/${route.page}`;
  }
}

export function parseHash(hash: string): Route {
  const environment = /^#\/environments\/([^/]+)$/.exec(hash);
  if (environment) return { page: 'environment', id: decodeURIComponent(environment[1]!) };
  const environmentLog = /^#\/environments\/([^/]+)\/(console|events)$/.exec(hash);
  if (environmentLog)
    return {
      page: 'environment-log',
      id: decodeURIComponent(environmentLog[1]!),
      source: environmentLog[2] as 'console' | 'events',
    };
  if (hash === '#/logs') return { page: 'logs' };
  if (hash === '#/settings') return { page: 'settings' };
  const section = SETTINGS_SECTIONS.find((s) => hash === `#/settings/${s}`);
  if (section) return { page: 'settings', section };
  if (hash === '#/setup') return { page: 'setup' };
  const setupStep = /^#\/setup\/([a-z0-9-]+)$/.exec(hash);
  if (setupStep) return { page: 'setup', step: setupStep[1]! };
  return { page: 'dashboard' };
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
}

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash);
  return parseHash(hash);
}

export function navigate(route: Route): void {
  window.location.hash = hrefOf(route);
}
