import { parseCli, USAGE } from './cli.js';
import { startDaemon } from './daemon/daemon.js';
import { SocketInUseError } from './daemon/socket.js';
import { createLogger } from './log.js';

const cli = parseCli(process.argv.slice(2));
if (cli.kind === 'help') {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (cli.kind === 'error') {
  process.stderr.write(`hearthd: ${cli.message}\n\n${USAGE}`);
  process.exit(64); // EX_USAGE
}

const log = createLogger(cli.logLevel);
process.on('uncaughtException', (error) => {
  log.fatal({ err: error }, 'uncaught exception; exiting');
  process.exit(70); // EX_SOFTWARE
});

try {
  const daemon = await startDaemon(cli.options, log);
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
