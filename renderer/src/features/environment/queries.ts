import { useQuery } from '@tanstack/react-query';
import { call } from '../../hearth.js';
import { parseTimeline } from './timeline.js';

/** Keyed by environment id; app/useMainSync.ts invalidates `events(id)` on each `environment` event for it. */
export const environmentKeys = {
  events: (id: string) => ['environment-events', id] as const,
  stats: (id: string, state: string) => ['environment-stats', id, state] as const,
};

/**
 * The last 200 lines of hearthd's event log for it, as timeline entries (newest last). hearthd
 * appends the line before it announces the change, so the refetch on the event finds it.
 */
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
 * One sample asked for on opening the page and on each state change, so the figures show before
 * the next `stats` event, and a stopped environment (which gets no events) still shows its disk.
 */
export function useStatsSeed(id: string | undefined, state: string | undefined) {
  return useQuery({
    queryKey: environmentKeys.stats(id ?? '', state ?? ''),
    queryFn: () => call('getEnvironmentStats', { params: { id: id! } }),
    enabled: id !== undefined,
    // A seed only: refetching later would put an old sample beside live ones.
    gcTime: 0,
  });
}
