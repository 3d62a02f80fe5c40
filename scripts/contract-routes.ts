import { dirname, join, sep } from 'node:path';
import type { Plugin } from 'esbuild';
import { endpoints } from '../protocol/endpoints.js';

const PROTOCOL_DIR = join(dirname(import.meta.dirname), 'protocol') + sep;
const ENDPOINTS_FILE = join(PROTOCOL_DIR, 'endpoints.ts');

/**
 * The endpoint table as a client needs it: every endpoint's method, path and other plain fields,
 * taken from protocol/endpoints.ts when the bundle is built. Its schemas are left out; a schema
 * field stays on the row as a getter that throws, so code that needs one fails loudly instead of
 * reading undefined.
 */
export function routesModule(): string {
  const rows = Object.entries(endpoints).map(([name, endpoint]) => {
    const fields = Object.entries(endpoint).map(([field, value]) =>
      typeof value === 'object' && value !== null
        ? `get ${JSON.stringify(field)}() { return schemaLeftOut(${JSON.stringify(`${name}.${field}`)}); }`
        : `${JSON.stringify(field)}: ${JSON.stringify(value)}`,
    );
    return `${JSON.stringify(name)}: { ${fields.join(', ')} }`;
  });
  return [
    'function schemaLeftOut(what) {',
    "  throw new Error(`endpoints.${what}: this bundle has the contract's routes, not its schemas (scripts/contract-routes.ts)`);",
    '}',
    `export const endpoints = { ${rows.join(',\n')} };`,
  ].join('\n');
}

/**
 * For the `hearth` bundle: the contract without its validators. The command line only sends
 * requests (hearthd validates them) and reads the answers as their static types, so it needs the
 * routes and none of the TypeBox schemas; compiling and building them was ~7 ms of CPU, a
 * quarter of the command's own start (bench/cli.ts). The table is still derived from protocol/endpoints.ts (no second description of
 * the API), and the protocol modules are declared free of side effects so that esbuild drops the
 * schema modules nothing uses. A schema the command does use (imported by name) stays, as it is.
 */
export function contractRoutesOnly(): Plugin {
  return {
    name: 'contract-routes-only',
    setup(build) {
      build.onLoad({ filter: /[\\/]protocol[\\/]endpoints\.ts$/ }, (args) =>
        args.path === ENDPOINTS_FILE ? { contents: routesModule(), loader: 'js' } : undefined,
      );
      build.onResolve({ filter: /^(\.|#protocol)/ }, async (args) => {
        if ((args.pluginData as { resolving?: boolean } | undefined)?.resolving === true) return undefined;
        const resolved = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: { resolving: true },
        });
        if (resolved.errors.length > 0 || !resolved.path.startsWith(PROTOCOL_DIR)) return undefined;
        return { path: resolved.path, sideEffects: false };
      });
    },
  };
}
