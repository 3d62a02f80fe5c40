/**
 * Where main may send the window (a notification or the tray was clicked), as the renderer's hash
 * route (renderer/src/app/router.ts). Kept here as data so the Electron layer only delivers it.
 */
export type NavigationTarget = { page: 'dashboard' } | { page: 'environment'; id: string };

export function routeOf(target: NavigationTarget): string {
  return target.page === 'dashboard' ? '#/' : `#/environments/${encodeURIComponent(target.id)}`;
}

/** `loadFile`'s `hash` option wants the route without its `#`. */
export const hashOf = (route: string): string => route.replace(/^#/, '');
