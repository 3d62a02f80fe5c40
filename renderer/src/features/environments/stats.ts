import { create } from 'zustand';
import type { EnvironmentStats, HearthEventOf } from '#protocol';

/** Samples kept per environment for a sparkline: 60 × hearthd's 2 s interval = the last two minutes. */
export const HISTORY_LENGTH = 60;

export interface StatsSample {
  at: number;
  cpuPercent: number;
  rssBytes: number;
}

/**
 * hearthd's live figures are pushed (a `stats` event every 2 s), not asked for, so they live here
 * rather than in react-query. Only the latest sample and a short history per environment are kept.
 */
interface StatsState {
  latest: Record<string, EnvironmentStats>;
  history: Record<string, StatsSample[]>;
  /** Takes one `stats` event (or one endpoint answer) in. */
  record: (figures: readonly EnvironmentStats[]) => void;
  /** Forgets an environment: deleted, or its VMM is gone (a new one starts a new history). */
  clear: (id: string) => void;
  /** Forgets everything, e.g. after a reconnect, when what was missed is unknown. */
  reset: () => void;
}

const without = <T>(record: Record<string, T>, id: string): Record<string, T> =>
  Object.fromEntries(Object.entries(record).filter(([key]) => key !== id));

export const useStats = create<StatsState>()((set) => ({
  latest: {},
  history: {},
  record: (figures) =>
    set((state) => {
      const latest = { ...state.latest };
      const history = { ...state.history };
      for (const stats of figures) {
        const previous = latest[stats.id];
        // An endpoint answer may arrive after a newer event: never step back in time.
        if (previous && Date.parse(previous.sampledAt) >= Date.parse(stats.sampledAt)) continue;
        latest[stats.id] = stats;
        if (!stats.vmm) continue;
        const sample = {
          at: Date.parse(stats.sampledAt),
          cpuPercent: stats.vmm.cpuPercent,
          rssBytes: stats.vmm.rssBytes,
        };
        history[stats.id] = [...(history[stats.id] ?? []), sample].slice(-HISTORY_LENGTH);
      }
      return { latest, history };
    }),
  clear: (id) =>
    set((state) => {
      if (!(id in state.latest) && !(id in state.history)) return state;
      return { latest: without(state.latest, id), history: without(state.history, id) };
    }),
  reset: () => set({ latest: {}, history: {} }),
}));

/** States in which a VMM may run, so figures mean something. */
const LIVE_STATES = new Set(['starting', 'running', 'stopping']);

/** What an `environment` event means for the figures kept: a deleted or stopped one has none. */
export function applyEnvironmentEvent(event: HearthEventOf<'environment'>): void {
  if (event.change === 'deleted' || !LIVE_STATES.has(event.environment.state))
    useStats.getState().clear(event.environment.id);
}

const EMPTY: StatsSample[] = [];

export function useLatestStats(id: string | undefined): EnvironmentStats | undefined {
  return useStats((s) => (id ? s.latest[id] : undefined));
}

export function useStatsHistory(id: string | undefined): StatsSample[] {
  return useStats((s) => (id ? (s.history[id] ?? EMPTY) : EMPTY));
}
