import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { KOFFI_FILE, koffiBinary, koffiVersion } from '../helper/src/api/socket-credentials.js';
import { contractRoutesOnly } from './contract-routes.js';
import { lazyChildProcessForCommander } from './lazy-builtins.js';

/**
 * Bundles the Node-side programs. hearthd becomes one self-contained file so the installer can
 * copy it into a root-owned directory; Electron's main and preload become CommonJS as Electron's
 * sandboxed preload requires.
 */
const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  sourcemap: true,
  logLevel: 'warning',
  legalComments: 'none',
};

/** An x86-64 ELF shared object: the one platform hearthd ships for. */
function isLinuxX64(path: string): boolean {
  try {
    const head = readFileSync(path).subarray(0, 20);
    return head.readUInt32BE(0) === 0x7f454c46 && head[4] === 2 && head.readUInt16LE(18) === 0x3e;
  } catch {
    return false;
  }
}

/**
 * hearthd's one native module, koffi's (the FFI it calls getsockopt with), travels next to its
 * bundle, which loads it from there only. Only the Linux x86-64 glibc binary: not koffi's others.
 */
function copyKoffi(): void {
  const source = koffiBinary();
  if (!isLinuxX64(source))
    throw new Error(`${source} is not a Linux x86-64 shared object: run npm ci on a Linux x86-64 machine`);
  mkdirSync('dist/helper', { recursive: true });
  copyFileSync(source, join('dist/helper', KOFFI_FILE));
}

/** The catalog's signing keyrings (assets/keyrings/), inside the bundle: as hard to replace as hearthd itself. */
function keyrings(): Record<string, string> {
  const dir = 'assets/keyrings';
  const files = readdirSync(dir).filter((f) => f.endsWith('.gpg'));
  return Object.fromEntries(files.map((f) => [f, readFileSync(join(dir, f)).toString('base64')]));
}

copyKoffi();
await Promise.all([
  build({
    ...common,
    entryPoints: ['helper/src/main.ts'],
    outfile: 'dist/helper/hearthd.mjs',
    format: 'esm',
    target: 'node20',
    // V8 keeps a script's whole source in the heap: without comments and indentation it is half
    // the size, and pure ASCII (one byte a character, not two), which is 6 MiB of hearthd's idle
    // RSS. Names stay, so stack traces still read; the source map maps back to the sources.
    minifyWhitespace: true,
    charset: 'ascii',
    define: {
      HEARTHD_BUNDLED: 'true',
      HEARTHD_KEYRINGS: JSON.stringify(keyrings()),
      HEARTHD_KOFFI_VERSION: JSON.stringify(koffiVersion()),
    },
    // Bundled CommonJS dependencies expect require, __filename and __dirname; give them real ones.
    banner: {
      js: [
        "import { createRequire as __hearthRequire } from 'node:module';",
        "import { fileURLToPath as __hearthPath } from 'node:url';",
        'const require = __hearthRequire(import.meta.url);',
        'const __filename = __hearthPath(import.meta.url);',
        "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
      ].join('\n'),
    },
  }),
  build({
    ...common,
    entryPoints: ['cli/src/main.ts'],
    outfile: 'dist/cli/hearth.cjs',
    // CommonJS, not ESM: Node 22 gives an ESM import of node:http a facade that evaluates every
    // export, and one of them loads Node's internal undici (15 ms of a 22 ms start).
    format: 'cjs',
    target: 'node20',
    // Started on every invocation: the same diet as hearthd's bundle (V8 keeps the source in
    // the heap and parses it on start), and no source map to load.
    minifyWhitespace: true,
    charset: 'ascii',
    sourcemap: false,
    // The contract's routes without its TypeBox schemas, which only hearthd needs (contract-routes.ts).
    plugins: [contractRoutesOnly(), lazyChildProcessForCommander()],
    // The packaged command runs on the Node runtime installed beside hearthd (hearth-install.sh).
    banner: { js: '#!/usr/lib/hearth/node' },
  }),
  build({
    ...common,
    entryPoints: ['main/src/main.ts'],
    outfile: 'dist/main/main.cjs',
    format: 'cjs',
    target: 'node22',
    external: ['electron'],
  }),
  build({
    ...common,
    entryPoints: ['main/src/preload.ts'],
    outfile: 'dist/main/preload.cjs',
    format: 'cjs',
    target: 'node22',
    external: ['electron'],
  }),
]);
