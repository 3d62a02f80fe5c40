import { build, type BuildOptions } from 'esbuild';

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

await Promise.all([
  build({
    ...common,
    entryPoints: ['helper/src/main.ts'],
    outfile: 'dist/helper/hearthd.mjs',
    format: 'esm',
    target: 'node20',
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
