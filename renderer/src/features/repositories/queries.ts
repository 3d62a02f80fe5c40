import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { AccessCheck, AddCredential, CheckAccess, Credential, CredentialList, Profile } from '#protocol';
import { call } from '../../hearth.js';

/** Repository access is the caller's own server state: hearthd shows each owner only theirs. */
export const repoKeys = {
  credentials: ['credentials'] as const,
  profile: ['profile'] as const,
  hostKeys: ['git-host-keys'] as const,
  /** A check made for suggestions (the create form), per URL. */
  suggestions: (url: string) => ['access-check', url] as const,
};

export function useCredentials(enabled: boolean) {
  return useQuery({
    queryKey: repoKeys.credentials,
    queryFn: async () => (await call('listCredentials', {})).credentials,
    enabled,
  });
}

/**
 * Add a token or make a key pair. The token is write-only: the mutation is forgotten as soon as
 * it settles (gcTime 0), so its variables (the secret) do not linger in the window's caches.
 * hearthd replaces the caller's credential of that kind for that host, and so does the list.
 */
export function useAddCredential() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: AddCredential) => call('addCredential', { body }),
    gcTime: 0,
    onSuccess: (added: Credential) =>
      client.setQueryData<Credential[]>(repoKeys.credentials, (list) => [
        ...(list ?? []).filter((c) => c.id !== added.id && !(c.host === added.host && c.kind === added.kind)),
        added,
      ]),
  });
}

export function useDeleteCredential() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => call('deleteCredential', { params: { id } }),
    onSuccess: (list: CredentialList) => client.setQueryData(repoKeys.credentials, list.credentials),
  });
}

/** A check the user asked for; the credential it used now carries it as its last check. */
export function useCheckAccess() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: CheckAccess) => call('checkAccess', { body }),
    onSettled: () => void client.invalidateQueries({ queryKey: repoKeys.credentials }),
  });
}

export function useGitHostKeys(enabled: boolean) {
  return useQuery({
    queryKey: repoKeys.hostKeys,
    queryFn: async () => (await call('listGitHostKeys', {})).hostKeys,
    enabled,
  });
}

/** Trust the key an SSH host offered (the user compared its fingerprint). */
export function useConfirmHostKey() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { host: string; publicKey: string }) => call('confirmGitHostKey', { body }),
    onSuccess: (list) => client.setQueryData(repoKeys.hostKeys, list.hostKeys),
  });
}

/**
 * Branches for the create form's Ref field: one check per URL (the form debounces typing), kept
 * only while the form shows it — a credential added meanwhile must not be hidden by a stale "no
 * credential".
 */
export function useBranchSuggestions(url: string | null) {
  return useQuery<AccessCheck>({
    queryKey: repoKeys.suggestions(url ?? ''),
    queryFn: () => call('checkAccess', { body: { repository: url! } }),
    enabled: url !== null,
    gcTime: 0,
    staleTime: 0,
  });
}

export function useProfile(enabled: boolean) {
  return useQuery({ queryKey: repoKeys.profile, queryFn: () => call('getProfile', {}), enabled });
}

export function usePutProfile() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Profile) => call('putProfile', { body }),
    onSuccess: (saved: Profile) => client.setQueryData(repoKeys.profile, saved),
  });
}
