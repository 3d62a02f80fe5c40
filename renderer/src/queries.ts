import { QueryClient, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { AppInfo, HostReport } from '#protocol';
import { call } from './hearth.js';

/**
 * Server state, cached by react-query and invalidated by hearthd's events (a `hello` after every
 * reconnect, `readiness` when the verdict changes), never polled.
 */
export const queryClient = new QueryClient({
  defaultOptions: {
    // Errors carry hearthd's own message; retrying blindly would only delay it. Reconnects refetch.
    queries: { retry: false, refetchOnWindowFocus: false, staleTime: Infinity },
  },
});

export const keys = { host: ['host'] as const, appInfo: ['app-info'] as const, config: ['config'] as const };

export function useHostReport(connected: boolean) {
  return useQuery({ queryKey: keys.host, queryFn: () => call('getHost', {}), enabled: connected });
}

/** "Check again": probe the machine now, and show that report. */
export function useRecheckHost() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => call('getHost', { query: { fresh: true } }),
    onSuccess: (report: HostReport) => client.setQueryData(keys.host, report),
  });
}

export function useAppInfo() {
  return useQuery({ queryKey: keys.appInfo, queryFn: () => call('getAppInfo', {}) });
}

export function useSetAutostart() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (enabled: boolean) => call('setAutostart', { enabled }),
    onSuccess: (info: AppInfo) => client.setQueryData(keys.appInfo, info),
  });
}

/** hearthd's settings, read by the dashboard (capacity) and Settings; `config` events refetch. */
export function useHearthdConfig(enabled: boolean) {
  return useQuery({ queryKey: keys.config, queryFn: () => call('getConfig', {}), enabled });
}
