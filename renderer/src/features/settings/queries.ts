import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ClassBody, ClassList, EnvironmentClass, SettingsPatch } from '#protocol';
import { call, HearthCallError } from '../../hearth.js';
import { keys } from '../../queries.js';
import { envKeys } from '../environments/queries.js';

/** Settings are server state too: refetched on hearthd's `config`/`classes` events and on `hello`. */
export const settingsKeys = {
  version: ['version'] as const,
  caller: ['caller'] as const,
};

export function useVersion(enabled: boolean) {
  return useQuery({ queryKey: settingsKeys.version, queryFn: () => call('getVersion', {}), enabled });
}

/**
 * Whether the caller may change what only admins may (hearthd's `GET /v1/me`). An older hearthd
 * without it answers not-found: then nothing is known, the controls stay enabled, and hearthd's
 * own `forbidden` answer says who may.
 */
export function useIsAdmin(enabled: boolean): boolean | undefined {
  const caller = useQuery({
    queryKey: settingsKeys.caller,
    queryFn: async () => {
      try {
        return await call('getCaller', {});
      } catch (error) {
        if (error instanceof HearthCallError && error.code === 'not-found') return null;
        throw error;
      }
    },
    enabled,
  });
  return caller.data === undefined || caller.data === null ? undefined : caller.data.admin;
}

export function useUpdateConfig() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: SettingsPatch) => call('updateConfig', { body }),
    onSuccess: (view) => client.setQueryData(keys.config, view),
  });
}

export function usePutClass() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ name, body }: { name: string; body: ClassBody }) => call('putClass', { params: { name }, body }),
    onSuccess: (saved: EnvironmentClass) =>
      client.setQueryData<EnvironmentClass[]>(envKeys.classes, (list) =>
        list?.some((c) => c.name === saved.name)
          ? list.map((c) => (c.name === saved.name ? saved : c))
          : [...(list ?? []), saved],
      ),
  });
}

export function useDeleteClass() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => call('deleteClass', { params: { name } }),
    onSuccess: (list: ClassList) => client.setQueryData(envKeys.classes, list.classes),
  });
}
