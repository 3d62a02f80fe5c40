import type { CreateEnvironment, EnvironmentClass, Settings } from '#protocol';
import { DomainError } from '../errors.js';
import type { Image, ImageStore } from '../images/image-store.js';
import { checkClassFits } from './caps.js';
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
