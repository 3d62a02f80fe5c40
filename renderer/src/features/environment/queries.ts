import { useQuery } from '@tanstack/react-query';
import { call } from '../../hearth.js';
import { parseTimeline } from './timeline.js';

/** Keyed by environment id; app/useMainSync.ts invalidates `events(id)` on each `environment` event for it. */
export const environmentKeys = {
  events: (id: string) => ['environment-events', id] as const,
  stats: (id: string, state: string) => ['environment-stats', id, state] as const,
};

/** How long after a change its event-log line may still be on its way. */
const JOURNAL_GRACE_MS = 5000;
const JOURNAL_RETRY_MS = 400;

/**
 * The last 200 lines of hearthd's event log for it, as timeline entries (newest last). hearthd
 * publishes a state change before it appends the matching log line, so a refetch on the event can
 * miss that line: while the newest entry is older than the environment's `updatedAt` (and only
 * for a few seconds after it, since not every change writes a line) it asks again.
 */
export function useEnvironmentTimeline(id: string | undefined, updatedAt: string | undefined) {
  return useQuery({
    queryKey: environmentKeys.events(id ?? ''),
    queryFn: async () =>
      parseTimeline(
        (await call('getEnvironmentLogs', { params: { id: id! }, query: { source: 'events', tail: 200 } })).lines,
      ),
    enabled: id !== undefined,
    refetchInterval: (query) => {
      const changed = updatedAt ? Date.parse(updatedAt) : 0;
      const newest = query.state.data?.entries.at(-1);
      const lagging = newest === undefined || Date.parse(newest.time) < changed;
      return lagging && Date.now() - changed < JOURNAL_GRACE_MS ? JOURNAL_RETRY_MS : false;
    },
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
