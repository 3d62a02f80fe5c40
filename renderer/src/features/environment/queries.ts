import { useQuery } from '@tanstack/react-query';
import { call } from '../../hearth.js';
import { parseTimeline } from './timeline.js';

/** Keyed by environment id; app/useMainSync.ts invalidates `events(id)` on each `environment` event for it. */
export const environmentKeys = {
  events: (id: string) => ['environment-events', id] as const,
  stats: (id: string) => ['environment-stats', id] as const,
};

/** The last 200 lines of hearthd's event log for it, as timeline entries (newest last). */
export function useEnvironmentTimeline(id: string | undefined) {
  return useQuery({
    queryKey: environmentKeys.events(id ?? ''),
    queryFn: async () =>
      parseTimeline(
        (await call('getEnvironmentLogs', { params: { id: id! }, query: { source: 'events', tail: 200 } })).lines,
      ),
    enabled: id !== undefined,
  });
}

/**
 * One sample asked for on opening the page, so the figures (and a stopped environment's disk) show
 * before the next `stats` event; the events keep them live after that.
 */
export function useStatsSeed(id: string | undefined) {
  return useQuery({
    queryKey: environmentKeys.stats(id ?? ''),
    queryFn: () => call('getEnvironmentStats', { params: { id: id! } }),
    enabled: id !== undefined,
    // A seed only: refetching later would put an old sample beside live ones.
    gcTime: 0,
  });
}
