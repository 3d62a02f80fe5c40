import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { SshSetup } from '#protocol';
import { call } from '../../hearth.js';

/** The user's side of SSH, as main keeps it (user/ssh): the key, Hearth's ssh_config, the Include. */
export const sshKeys = { setup: ['ssh-setup'] as const };

export function useSshSetup() {
  return useQuery({ queryKey: sshKeys.setup, queryFn: () => call('getSshSetup', {}) });
}

export function useCreateSshKey() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => call('createSshKey', {}),
    onSuccess: (setup: SshSetup) => client.setQueryData(sshKeys.setup, setup),
  });
}

export function useSetSshInclude() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (enabled: boolean) => call('setSshInclude', { enabled }),
    onSuccess: (setup: SshSetup) => client.setQueryData(sshKeys.setup, setup),
  });
}
