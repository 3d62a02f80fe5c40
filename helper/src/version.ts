import { version } from '../../package.json';

/** hearthd's release, from package.json (inlined by the bundler). */
export const HEARTHD_VERSION: string = version;
