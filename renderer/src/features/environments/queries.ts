import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { CreateEnvironment, Environment } from '#protocol';
import { call } from '../../hearth.js';

/**
 * Environments are server state: fetched once, then refetched only when hearthd says something
 * changed (`environment` events, wired in app/useMainSync.ts) — never polled.
 */
export const envKeys = {
  list: ['environments'] as const,
  classes: ['classes'] as const,
  images: ['images'] as const,
};

export function useEnvironments(enabled: boolean) {
  return useQuery({
    queryKey: envKeys.list,
    queryFn: async () => (await call('listEnvironments', {})).environments,
    enabled,
  });
}

export function useClasses(enabled: boolean) {
  return useQuery({
    queryKey: envKeys.classes,
    queryFn: async () => (await call('listClasses', {})).classes,
    enabled,
  });
}

export function useImages(enabled: boolean) {
  return useQuery({
    queryKey: envKeys.images,
    queryFn: async () => (await call('listImages', {})).images,
    enabled,
  });
}

export type EnvironmentAction = 'start' | 'stop' | 'restart' | 'delete';

const ACTION_CALL = {
  start: 'startEnvironment',
  stop: 'stopEnvironment',
  restart: 'restartEnvironment',
  delete: 'deleteEnvironment',
} as const;

/**
 * The answer of an action is the environment as hearthd now sees it; put it in the cache at once so
 * the row shows "stopping…" before the event round trip, then let events carry it the rest of the way.
 */
function useApply() {
  const client = useQueryClient();
  return (updated: Environment) =>
    client.setQueryData<Environment[]>(envKeys.list, (list) => {
      const cached = list?.find((e) => e.id === updated.id);
      // An event may have brought a newer state already (the answer raced it): keep that one.
      if (cached && Date.parse(cached.updatedAt) > Date.parse(updated.updatedAt)) return list;
      return cached ? list!.map((e) => (e.id === updated.id ? updated : e)) : [...(list ?? []), updated];
    });
}

export function useEnvironmentAction() {
  const apply = useApply();
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ action, id }: { action: EnvironmentAction; id: string }) =>
      call(ACTION_CALL[action], { params: { id } }),
    // A deleted environment must not be put back by a late answer; refetching cannot resurrect it.
    onSuccess: (updated, { action }) =>
      action === 'delete' ? void client.invalidateQueries({ queryKey: envKeys.list }) : apply(updated),
  });
}

export function useCreateEnvironment() {
  const apply = useApply();
  return useMutation({
    mutationFn: (body: CreateEnvironment) => call('createEnvironment', { body }),
    onSuccess: apply,
  });
}
