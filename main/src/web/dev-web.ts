import { mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_SOCKET } from '#protocol/client';
import { version } from '../../../package.json';
import { AppCore } from '../core/app-core.js';
import { IpcFailure, ownerOf } from '../core/ipc-router.js';
import { saveIntoDirectory } from '../core/save-log.js';
import { sshPaths } from '../../../user/ssh/paths.js';
import { DirectRunner, SudoPromptRunner, type PrivilegedRunner } from '../core/installer.js';
import { WebBridge } from './bridge-server.js';

/**
 * `npm run dev:web`: the renderer in any browser, bridged to the real main-process logic and a
 * real hearthd. Development only; the packaged app never contains this file.
 */
export interface DevWebOptions {
  socket: string;
  port?: number;
  rendererDir: string;
  /** Install into this scratch root instead of / (runs the script directly; needs root). */
  installRoot?: string;
  installUser?: string;
  /** Treat hearthd as installed when its socket is missing (a development hearthd). */
  assumeInstalled?: boolean;
  /** Where saveLog writes (browser mode has no save dialog); default ~/Downloads. */
  saveDir?: string;
  /** Whose ~/.config/hearth and ~/.ssh/config the SSH setup uses; default the home directory (tests: a temporary one). */
  sshHome?: string;
  onError?: (error: unknown) => void;
}

const repo = resolve(import.meta.dirname, '..', '..', '..');

export async function startDevWeb(
  options: DevWebOptions,
): Promise<{ url: string; core: AppCore; close(): Promise<void> }> {
  const bridgeRef: { current?: WebBridge } = {};
  const runner: PrivilegedRunner =
    options.installRoot !== undefined || process.getuid?.() === 0
      ? new DirectRunner()
      : new SudoPromptRunner((await import('sudo-prompt')).exec);
  const core = new AppCore({
    shell: 'browser',
    appVersion: version,
    socketPath: options.socket,
    installScript: join(repo, 'assets', 'linux', 'hearth-install.sh'),
    runner,
    installOverrides: {
      hearthd: join(repo, 'dist', 'helper', 'hearthd.mjs'),
      node: process.execPath,
      cli: join(repo, 'dist', 'cli', 'hearth.cjs'),
      ...(options.installRoot !== undefined && { root: options.installRoot }),
      ...(options.installUser !== undefined && { user: options.installUser }),
    },
    ...(options.assumeInstalled === true && { isInstalled: () => Promise.resolve(true) }),
    autostart: null,
    trayAvailable: () => false,
    ssh: sshPaths(options.sshHome ?? homedir()),
    copyText: () => Promise.reject(new IpcFailure('unavailable', 'Copying is done by the browser in dev:web.')),
    chooseSavePath: saveIntoDirectory(options.saveDir ?? join(homedir(), 'Downloads')),
    emit: (name, payload) => bridgeRef.current?.emit(name, payload),
    initialBackoffMs: 200,
    maxBackoffMs: 2_000,
  });
  const bridge = new WebBridge({
    rendererDir: options.rendererDir,
    handlers: core.handlers,
    // The last page went away: nobody is left to receive what its subscriptions emit.
    onAllPagesGone: () => core.subscriptions.stopOwner(ownerOf({ kind: 'bridge', authenticated: true })),
    ...(options.port !== undefined && { port: options.port }),
    ...(options.onError && { onError: options.onError }),
  });
  bridgeRef.current = bridge;
  const url = await bridge.listen();
  core.start();
  const server = bridge;
  return {
    url,
    core,
    async close() {
      await core.stop();
      await server.close();
    },
  };
}

/** The stdout line a parent reads the address from, with --url-stdout. */
export const URL_LINE = 'HEARTH_DEV_WEB_URL=';

const USAGE = `Usage: npm run dev:web -- [--socket PATH] [--port N] [--install-root DIR] [--install-user NAME] [--save-dir DIR] [--ssh-home DIR] [--url-stdout]

Serves the renderer (npm run build first) on 127.0.0.1, bridged to the app's main-process logic
and the hearthd at --socket (default ${DEFAULT_SOCKET}). The address, with its one-time token,
is written to a file only you can read; open it in a browser. --url-stdout instead writes it as
one line, ${URL_LINE}<address>, on stdout, for a parent process that reads it (the e2e tests).
Saved logs go to --save-dir (default ~/Downloads); the SSH setup uses --ssh-home (default ~).`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      socket: { type: 'string', default: DEFAULT_SOCKET },
      port: { type: 'string' },
      'install-root': { type: 'string' },
      'install-user': { type: 'string' },
      'url-stdout': { type: 'boolean' },
      'save-dir': { type: 'string' },
      'ssh-home': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const socket = resolve(values.socket);
  const dev = await startDevWeb({
    socket,
    rendererDir: join(repo, 'dist', 'renderer'),
    ...(values.port !== undefined && { port: Number(values.port) }),
    ...(values['install-root'] !== undefined && { installRoot: resolve(values['install-root']) }),
    ...(values['install-user'] !== undefined && { installUser: values['install-user'] }),
    ...(values['save-dir'] !== undefined && { saveDir: resolve(values['save-dir']) }),
    ...(values['ssh-home'] !== undefined && { sshHome: resolve(values['ssh-home']) }),
    assumeInstalled: socket !== DEFAULT_SOCKET,
    onError: (error) => process.stderr.write(`dev:web: ${String(error)}\n`),
  });
  const stop = () => void dev.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  if (values['url-stdout'] === true) {
    // The reader is our parent, through a pipe: the token reaches no terminal and no file.
    process.stdout.write(`${URL_LINE}${dev.url}\n`);
    return;
  }
  const runtime = process.env.XDG_RUNTIME_DIR ?? join(repo, '.cache');
  await mkdir(join(runtime, 'hearth'), { recursive: true, mode: 0o700 });
  const urlFile = join(runtime, 'hearth', 'dev-web.url');
  await writeFile(urlFile, `${dev.url}\n`, { mode: 0o600 });
  process.stdout.write(
    `Hearth dev:web is serving on ${new URL(dev.url).origin} (hearthd socket: ${socket}).\n` +
      `Open the address in ${urlFile} (it carries the one-time token):  xdg-open "$(cat ${urlFile})"\n`,
  );
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  main().catch((error: unknown) => {
    process.stderr.write(`dev:web: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
