import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Set to `true` by scripts/build.ts in the bundle; absent when hearthd runs from source (tsx, vitest). */
declare const HEARTHD_BUNDLED: boolean | undefined;

/** The file name of the native module next to the bundle (dist/helper/, /usr/lib/hearth/). */
export const SOCKOPT_FILE = 'sockopt.node';

/**
 * Where the npm package `sockopt` keeps a Linux binary, best first. Its `prebuilds/linux-x64`
 * file is a Mach-O (macOS) binary in 2.0.1, so the one that loads is what its install script
 * (node-gyp-build) compiled from its source; the prebuild stays listed for a release that fixes it.
 */
export const SOCKOPT_BUILDS = ['build/Release/sockopt.node', 'prebuilds/linux-x64/node.napi.node'];

/** The one call hearthd needs: getsockopt(2) of an int-sized option. Throws on failure, with the errno last. */
export interface Sockopt {
  getsockopt(fd: number, level: number, name: number): number;
}

function candidates(): { paths: string[]; bundle: string | undefined } {
  const here = fileURLToPath(import.meta.url);
  // The bundle loads only the copy installed beside it: never a lookup through node_modules or
  // any other path a user could write.
  if (typeof HEARTHD_BUNDLED === 'boolean') return { paths: [join(dirname(here), SOCKOPT_FILE)], bundle: here };
  const pkg = dirname(createRequire(import.meta.url).resolve('sockopt/package.json'));
  return { paths: SOCKOPT_BUILDS.map((p) => join(pkg, p)), bundle: undefined };
}

/** dlopen runs the file's code as hearthd: it must be no easier to replace than the bundle itself. */
function assertAsTrustedAs(path: string, bundle: string): void {
  const module = statSync(path);
  const owner = statSync(bundle).uid;
  if (!module.isFile()) throw new Error('not a regular file');
  if ((module.mode & 0o022) !== 0)
    throw new Error(`writable by group or others (mode ${(module.mode & 0o777).toString(8)})`);
  if (module.uid !== owner) throw new Error(`owned by uid ${module.uid}, not by the owner of ${bundle} (${owner})`);
}

export function loadSockopt(): Sockopt {
  const { paths, bundle } = candidates();
  const problems: string[] = [];
  for (const path of paths) {
    try {
      if (bundle !== undefined) assertAsTrustedAs(path, bundle);
      const module = { exports: {} as Partial<Sockopt> };
      process.dlopen(module, path, constants.dlopen.RTLD_NOW);
      if (typeof module.exports.getsockopt !== 'function') throw new Error('it exports no getsockopt');
      return module.exports as Sockopt;
    } catch (error) {
      problems.push(`${path}: ${(error as Error).message}`);
    }
  }
  throw new Error(
    `cannot load the native module hearthd learns API callers' identity with (${problems.join('; ')}); ` +
      'install hearthd again (the app: "Install helper"), or from a checkout: npm ci && npm run build',
  );
}
