import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { Catalog, HearthEventOf } from '#protocol';
import { call } from '../../hearth.js';
import { envKeys } from '../environments/queries.js';

/** Installed images share the create form's query; the catalog is its own, kept live by `image` events. */
export const imageKeys = { installed: envKeys.images, catalog: ['catalog'] as const };

export function useCatalog(enabled: boolean) {
  return useQuery({ queryKey: imageKeys.catalog, queryFn: () => call('getCatalog', {}), enabled });
}

export function useDownloadImage() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => call('downloadImage', { params: { name } }),
    onSuccess: (entry) =>
      client.setQueryData<Catalog>(imageKeys.catalog, (catalog) =>
        catalog ? { entries: catalog.entries.map((e) => (e.name === entry.name ? entry : e)) } : catalog,
      ),
  });
}

export function useDeleteImage() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => call('deleteImage', { params: { name } }),
    onSuccess: (list) => {
      client.setQueryData(imageKeys.installed, list.images);
      void client.invalidateQueries({ queryKey: imageKeys.catalog });
    },
  });
}

/**
 * An `image` event: progress goes straight into the catalog entry it concerns (events arrive at
 * most every 250 ms; a refetch each time would cost more than it shows); an image installed,
 * deleted or failed changes both lists, which are fetched again.
 */
export function applyImageEvent(client: ReturnType<typeof useQueryClient>, event: HearthEventOf<'image'>): void {
  if (event.change === 'progress' && event.progress !== null) {
    const progress = event.progress;
    client.setQueryData<Catalog>(imageKeys.catalog, (catalog) =>
      catalog
        ? { entries: catalog.entries.map((e) => (e.name === event.name ? { ...e, download: progress } : e)) }
        : catalog,
    );
    return;
  }
  void client.invalidateQueries({ queryKey: imageKeys.catalog });
  void client.invalidateQueries({ queryKey: imageKeys.installed });
}
