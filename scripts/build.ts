import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { SOCKOPT_BUILDS, SOCKOPT_FILE } from '../helper/src/api/sockopt.js';

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

/** An x86-64 ELF shared object: sockopt 2.0.1's "linux-x64" prebuild is a Mach-O, which must never ship. */
function isLinuxX64(path: string): boolean {
  try {
    const head = readFileSync(path).subarray(0, 20);
    return head.readUInt32BE(0) === 0x7f454c46 && head[4] === 2 && head.readUInt16LE(18) === 0x3e;
  } catch {
    return false;
  }
}

/** hearthd's one native module travels next to its bundle, which loads it from there only. */
function copySockopt(): void {
  const pkg = dirname(createRequire(import.meta.url).resolve('sockopt/package.json'));
  const source = SOCKOPT_BUILDS.map((p) => join(pkg, p)).find(isLinuxX64);
  if (source === undefined)
    throw new Error(
      `no Linux x86-64 build of sockopt in ${pkg} (looked for ${SOCKOPT_BUILDS.join(', ')}): its install ` +
        'script compiles one, which needs a C++ compiler, make, python3 and the Node headers; then run npm ci again',
    );
  mkdirSync('dist/helper', { recursive: true });
  copyFileSync(source, join('dist/helper', SOCKOPT_FILE));
}

/** The catalog's signing keyrings (assets/keyrings/), inside the bundle: as hard to replace as hearthd itself. */
function keyrings(): Record<string, string> {
  const dir = 'assets/keyrings';
  const files = readdirSync(dir).filter((f) => f.endsWith('.gpg'));
  return Object.fromEntries(files.map((f) => [f, readFileSync(join(dir, f)).toString('base64')]));
}

copySockopt();
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
    define: { HEARTHD_BUNDLED: 'true', HEARTHD_KEYRINGS: JSON.stringify(keyrings()) },
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
