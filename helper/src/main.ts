import { join } from 'node:path';
import { parseCli, USAGE } from './cli.js';
import { startDaemon } from './daemon/daemon.js';
import { SocketInUseError } from './daemon/socket.js';
import { findExecutable } from './system/executables.js';
import { HostRoot } from './system/host-root.js';
import { ImageStore } from './images/image-store.js';
import { runBuildImage } from './images/local-build/command.js';
import { createLogger } from './log.js';
import { LogRing } from './log-ring.js';
import { runInstallCloudHypervisor } from './vmm/install/command.js';

const cli = parseCli(process.argv.slice(2));
if (cli.kind === 'help') {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (cli.kind === 'error') {
  process.stderr.write(`hearthd: ${cli.message}\n\n${USAGE}`);
  process.exit(64); // EX_USAGE
}

if (cli.kind === 'install-image') {
  const qemuImg = await findExecutable(new HostRoot('/'), 'qemu-img');
  if (!qemuImg.found) {
    process.stderr.write('hearthd: qemu-img is not installed (Debian/Ubuntu: apt-get install qemu-utils)\n');
    process.exit(69); // EX_UNAVAILABLE
  }
  try {
    const manifest = await new ImageStore(join(cli.options.stateDir, 'images')).install({
      ...cli.options,
      qemuImg: qemuImg.executable.hostPath,
    });
    process.stdout.write(
      `installed image ${manifest.name} in ${join(cli.options.stateDir, 'images', manifest.name)}\n`,
    );
    process.exit(0);
  } catch (error) {
    process.stderr.write(`hearthd: install-image failed: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

if (cli.kind === 'build-image') process.exit(await runBuildImage(cli.options));
if (cli.kind === 'install-cloud-hypervisor') {
  process.exit(await runInstallCloudHypervisor(cli.options, cli.testPin));
}

const logRing = new LogRing();
const log = createLogger(cli.logLevel, undefined, logRing);
process.on('uncaughtException', (error) => {
  log.fatal({ err: error }, 'uncaught exception; exiting');
  process.exit(70); // EX_SOFTWARE
});

try {
  const daemon = await startDaemon(cli.options, log, logRing);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    daemon.close().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`hearthd: ${message}\n`);
  log.fatal({ err: error }, 'hearthd could not start');
  process.exit(error instanceof SocketInUseError ? 75 : 1); // EX_TEMPFAIL: try again once the other stops
}
