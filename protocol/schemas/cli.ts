import { Type, type Static } from '@sinclair/typebox';
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
