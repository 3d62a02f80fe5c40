import { Type, type Static } from '@sinclair/typebox';
import { Bytes, OneOf, Timestamp } from './common.js';
import { ImageName } from './environments.js';

/** How the VMM starts the guest: the image's own firmware path (cloud images) or its kernel and initrd. */
export const BootMode = OneOf(['firmware', 'kernel'], {
  description:
    "firmware: the VMM's firmware boots the disk (cloud images); kernel: direct kernel boot (local builds, test guests)",
});
export type BootMode = Static<typeof BootMode>;

/** What sets the guest up on first boot. */
export const Provisioning = OneOf(['cloud-init', 'none'], {
  description:
    "cloud-init: a NoCloud seed is attached and the environment is running only once the guest's agent reports that cloud-init finished; none: the ready marker (or the boot) decides",
});
export type Provisioning = Static<typeof Provisioning>;

export const ImageOrigin = OneOf(['catalog', 'local-build', 'install-image'], {
  description:
    'catalog: downloaded and verified by hearthd; local-build: built from the distribution archive; install-image: installed by an administrator from files',
});
export type ImageOrigin = Static<typeof ImageOrigin>;

export const ImageOs = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$', description: 'debian, ubuntu, busybox, …' }),
    version: Type.String({ maxLength: 32, description: '12, 24.04, …' }),
    pretty: Type.String({ maxLength: 80, description: 'Debian 12 (bookworm)' }),
  },
  { additionalProperties: false },
);
export type ImageOs = Static<typeof ImageOs>;

/** An image environments can be created from. */
export const ImageInfo = Type.Object(
  {
    name: ImageName,
    os: ImageOs,
    origin: ImageOrigin,
    bootMode: BootMode,
    provisioning: Provisioning,
    sizeBytes: Bytes,
    readyMarker: Type.Union([Type.String(), Type.Null()], {
      description:
        'The console line that means "running" (images without provisioning); null: running once the VMM booted it',
    }),
    installedAt: Timestamp,
    usedBy: Type.Integer({
      minimum: 0,
      description: 'Environments created from it (it cannot be deleted while any exist)',
    }),
  },
  { additionalProperties: false },
);
export type ImageInfo = Static<typeof ImageInfo>;
export const ImageList = Type.Object({ images: Type.Array(ImageInfo) }, { additionalProperties: false });
export type ImageList = Static<typeof ImageList>;
export const ImageParams = Type.Object({ name: ImageName }, { additionalProperties: false });

/** Catalog entries: the images hearthd knows how to download and verify. */
export const CatalogName = Type.String({ pattern: '^[a-z][a-z0-9.-]{0,62}$', maxLength: 63 });
export const CatalogParams = Type.Object({ name: CatalogName }, { additionalProperties: false });

export const DownloadPhase = OneOf(
  ['resolving', 'downloading', 'verifying', 'installing', 'installed', 'failed', 'cancelled'],
  {
    description:
      'resolving: fetching and checking the signed checksum list; downloading: bytes arriving (resumable); verifying: checksum of the whole file; installing: converting and renaming into place',
  },
);
export type DownloadPhase = Static<typeof DownloadPhase>;

export const DownloadProgress = Type.Object(
  {
    phase: DownloadPhase,
    receivedBytes: Bytes,
    totalBytes: Type.Union([Bytes, Type.Null()]),
    message: Type.String({ maxLength: 1000 }),
    updatedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type DownloadProgress = Static<typeof DownloadProgress>;

export const CatalogEntry = Type.Object(
  {
    name: CatalogName,
    os: ImageOs,
    bootMode: BootMode,
    provisioning: Provisioning,
    /** Where the signed checksum list is read (for people; the API never takes a URL). */
    source: Type.String(),
    installed: Type.Boolean({ description: 'An image of this name is installed' }),
    download: Type.Union([DownloadProgress, Type.Null()], { description: 'The current or last download this run' }),
  },
  { additionalProperties: false },
);
export type CatalogEntry = Static<typeof CatalogEntry>;
export const Catalog = Type.Object({ entries: Type.Array(CatalogEntry) }, { additionalProperties: false });
export type Catalog = Static<typeof Catalog>;
