import { Type, type Static } from '@sinclair/typebox';
import { CatalogEntry, ImageInfo } from './images.js';
import { VersionInfo } from './system.js';

/**
 * The documents `hearth --json` prints that are not one of the API's own responses. Every other
 * command's --json output is the API's response as it came, so one set of schemas describes both.
 */

/** `hearth version --json`: the command's release and contract, and hearthd's answer. */
export const CliVersionReport = Type.Object(
  {
    client: Type.Object(
      { version: Type.String(), apiRevision: Type.Integer({ minimum: 1 }) },
      { additionalProperties: false },
    ),
    hearthd: Type.Union([VersionInfo, Type.Null()], { description: 'null: hearthd could not be reached' }),
  },
  { additionalProperties: false },
);
export type CliVersionReport = Static<typeof CliVersionReport>;

/** `hearth ssh-config sync --json`: the host names Hearth's ssh_config now has. */
export const CliSshSync = Type.Object(
  { hosts: Type.Array(Type.String({ pattern: '\\.hearth$' })) },
  { additionalProperties: false },
);
export type CliSshSync = Static<typeof CliSshSync>;

/** `hearth images --available --json`: the installed images and the catalog, each as the API lists it. */
export const CliImages = Type.Object(
  { images: Type.Array(ImageInfo), catalog: Type.Array(CatalogEntry) },
  { additionalProperties: false },
);
export type CliImages = Static<typeof CliImages>;
