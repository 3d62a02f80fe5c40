import type { Plugin } from 'esbuild';

/**
 * For the `hearth` bundle: commander requires node:child_process at the top of its command module,
 * for executable subcommands, which `hearth` never uses; loading it (and dgram and the rest it
 * brings) cost every start ~2 ms (bench/cli.ts). commander gets a stand-in that loads the real
 * module on first use instead. Only commander's import is redirected; ours stay as written.
 */
export function lazyChildProcessForCommander(): Plugin {
  const namespace = 'lazy-child-process';
  return {
    name: 'lazy-child-process-for-commander',
    setup(build) {
      build.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
        /[\\/]node_modules[\\/]commander[\\/]/.test(args.importer) ? { path: 'child_process', namespace } : undefined,
      );
      build.onLoad({ filter: /.*/, namespace }, () => ({
        contents: [
          '// Loaded when commander first spawns, which hearth never asks it to.',
          "module.exports = new Proxy({}, { get: (_, name) => require('node:child_process')[name] });",
        ].join('\n'),
        loader: 'js',
      }));
    },
  };
}
