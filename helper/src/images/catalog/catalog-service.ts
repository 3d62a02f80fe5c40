import type { Catalog, CatalogEntry } from '#protocol';
import { DomainError } from '../../errors.js';

/**
 * The images hearthd can download and verify itself. CONTRACT SKELETON: the catalog's download,
 * signature check and install are built in helper/src/images/catalog/ (issue #9).
 */
export class ImageCatalogService {
  list(): Catalog {
    return { entries: [] };
  }

  download(name: string): Promise<CatalogEntry> {
    return Promise.reject(new DomainError('not-found', `There is no catalog image "${name}"`));
  }
}
