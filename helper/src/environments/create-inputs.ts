import { parseRepositoryUrl, type CreateEnvironment, type EnvironmentClass, type Settings } from '#protocol';
import { DomainError } from '../errors.js';
import type { Image, ImageStore } from '../images/image-store.js';
import { checkClassFits } from './caps.js';
import type { StoredRepository } from './record.js';
import type { ClassStore } from './class-store.js';

/**
 * The class and image a create names, each refused with the choices there are when it does not
 * exist; the class must also fit within the settings' caps. Nothing is made before these hold.
 */
export async function resolveCreateInputs(
  request: CreateEnvironment,
  o: { classes: ClassStore; images: ImageStore; settings: Settings },
): Promise<{ cls: EnvironmentClass; image: Image }> {
  const cls = o.classes.get(request.class);
  if (!cls) {
    const choices = o.classes
      .list()
      .map((c) => c.name)
      .join(', ');
    throw new DomainError('invalid', `There is no environment class "${request.class}"; choose one of: ${choices}`);
  }
  checkClassFits(cls, o.settings);
  const imageName = request.image ?? (await o.images.defaultName());
  const image = await o.images.get(imageName);
  if (!image) {
    const installed = (await o.images.names()).join(', ') || 'none';
    throw new DomainError('invalid', `There is no image "${imageName}"; installed images: ${installed}`);
  }
  return { cls, image };
}

/** The repository a create names, as the record keeps it (the API refused a bad URL before this). */
export function storedRepository(request: CreateEnvironment): StoredRepository | undefined {
  if (request.repository === undefined) return undefined;
  const check = parseRepositoryUrl(request.repository);
  if (!check.ok) throw new DomainError('invalid', `repository: ${check.reason}`);
  const { url, transport, credentialHost, path, directory } = check.location;
  const grantHosts = (request.grantHosts ?? []).filter((host) => host !== credentialHost);
  return {
    url,
    transport,
    credentialHost,
    path,
    directory,
    ref: request.ref ?? null,
    ...(grantHosts.length && { grantHosts }),
  };
}
