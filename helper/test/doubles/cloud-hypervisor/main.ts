import { closeSync, existsSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { connect } from 'node:net';
import { CliConfigError, vmConfigFromCli } from './cli-vm-config.js';
import { formatErrorChain, parseCli, type CliOptions } from './cli.js';
import { EventMonitor } from './event-monitor.js';
import { FaultInjector } from './faults.js';
import { parseGuestBehaviour, type GuestBehaviour } from './guest.js';
import { createApiServer } from './http-server.js';
import { Logger } from './log.js';
import { OptionParseError } from './option-parser.js';
import { RequestRecord } from './request-record.js';
import { ChSpec, DEFAULT_SPEC_PATH } from './spec.js';
import { DOUBLE_BUILD_VERSION } from './version.js';
import { ApiFailure, Vmm } from './vmm.js';

/**
 * The double's process: CLI, then the event monitor, the VMM state machine and the API server,
 * in CH's order (`vmm.starting` is emitted before the API socket is bound). It exits 0 after
 * vmm.shutdown, SIGTERM/SIGINT, or a guest power-off without --no-shutdown, like CH; it leaves the
 * API socket file behind, as CH has since v53 (PR #8325: a `<socket>.lock` sidecar now guards the
 * path and the next start removes a stale socket).
 */
export async function main(argv: readonly string[]): Promise<void> {
  const outcome = parseCli(argv);
  if (outcome.kind === 'exit') {
    if (outcome.stdout !== undefined) writeSync(1, outcome.stdout);
    if (outcome.stderr !== undefined) writeSync(2, outcome.stderr);
    process.exitCode = outcome.code;
    return;
  }
  const options = outcome.options;
  // CH makes everything it creates (socket, serial file, event log) private to its user.
  process.umask(0o077);
  const log = new Logger(options.verbosity, options.logFile);
  log.info(`${DOUBLE_BUILD_VERSION} starting (contract double: no VM runs)`);
  if (options.seccomp !== 'true') log.debug(`--seccomp ${options.seccomp} accepted; the double installs no filter`);

  let faults: FaultInjector;
  let guest: GuestBehaviour;
  try {
    faults = FaultInjector.parse(process.env.HEARTH_CH_DOUBLE_FAIL);
    guest = parseGuestBehaviour(process.env.HEARTH_CH_DOUBLE_GUEST);
  } catch (error) {
    return fail(`${error instanceof OptionParseError ? 'HEARTH_CH_DOUBLE_GUEST: ' : ''}${(error as Error).message}`);
  }

  let events: EventMonitor;
  try {
    events = EventMonitor.open(options.eventMonitor);
  } catch (error) {
    return fail('Error doing event monitor I/O', (error as Error).message);
  }
  events.emit('vmm', 'starting');

  const exit = (code: number): never => {
    events.close();
    process.exit(code);
  };
  const vmm = new Vmm({ events, log, guest, noShutdown: options.noShutdown, exit });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    // CH's signal thread turns both into its exit event: the VM is shut down and deleted first.
    process.on(signal, () => {
      log.info(`received ${signal}`);
      vmm.vmmShutdown();
      exit(0);
    });
  }

  if (options.apiSocket !== undefined) {
    const started = await startApi(options, vmm, faults, log, exit);
    if (!started) return;
  }

  if (options.restore !== undefined)
    return fail('Error restoring VM', 'restore is not implemented by the contract double');
  if (options.vm !== undefined) {
    // A VM on the command line goes through the same internal API as vm.create + vm.boot.
    try {
      vmm.create(vmConfigFromCli(options.vm));
    } catch (error) {
      if (error instanceof CliConfigError || error instanceof OptionParseError)
        return fail('Error parsing config', error.message);
      if (error instanceof ApiFailure) return fail('Error creating VM', ...error.chain.slice(1));
      throw error;
    }
    try {
      vmm.boot();
    } catch (error) {
      if (error instanceof ApiFailure) return fail('Error booting VM', ...error.chain.slice(1));
      throw error;
    }
  }
  // Without an API socket or a VM, CH idles until a signal, and so does the double.
  if (options.apiSocket === undefined) setInterval(() => undefined, 2 ** 30);
}

async function startApi(
  options: CliOptions,
  vmm: Vmm,
  faults: FaultInjector,
  log: Logger,
  exit: (code: number) => never,
): Promise<boolean> {
  const endpoint = options.apiSocket!;
  const socketPath = 'path' in endpoint ? endpoint.path : undefined;
  if (socketPath !== undefined) {
    closeSync(openSync(`${socketPath}.lock`, 'a', 0o600));
    if (existsSync(socketPath)) {
      // CH decides with an flock on the .lock file; Node has no flock, so the double asks the
      // socket itself: a live VMM answers the connection, a stale socket refuses it.
      if (await answers(socketPath))
        fail('Failed to start the VMM thread', `API socket is already in use: "${socketPath}"`);
      unlinkSync(socketPath);
    }
  }
  const recordPath =
    process.env.HEARTH_CH_DOUBLE_RECORD ?? (socketPath === undefined ? undefined : `${socketPath}.requests.jsonl`);
  const record = new RequestRecord(recordPath);
  const specPath = process.env.HEARTH_CH_DOUBLE_SPEC ?? DEFAULT_SPEC_PATH;
  let spec: ChSpec | undefined;
  const server = createApiServer({
    spec: () => (spec ??= new ChSpec(specPath)),
    vmm,
    faults,
    record,
    log,
    onVmmShutdown: () => exit(0),
  });
  return new Promise((resolvePromise) => {
    server.once('error', (error) => {
      fail('Failed to start the VMM thread', "Error creation API server's socket", error.message);
      resolvePromise(false);
    });
    server.listen(socketPath ?? { fd: (endpoint as { fd: number }).fd }, () => {
      log.info(`API server listening on ${socketPath ?? `fd ${(endpoint as { fd: number }).fd}`}`);
      // Parse the spec now, while nobody waits: the first request is answered at full speed.
      try {
        spec ??= new ChSpec(specPath);
      } catch (error) {
        fail('contract double: cannot load the OpenAPI spec', (error as Error).message);
        resolvePromise(false);
        return;
      }
      // Compiling the VmConfig validators takes a few hundred ms: do it before vm.create asks.
      setImmediate(() => spec?.validateSchema('VmConfig', {}));
      resolvePromise(true);
    });
  });
}

function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('error', () => resolvePromise(false));
  });
}

/** CH's fatal-error report (cli_print_error_chain) and exit code 1. */
function fail(...chain: string[]): never {
  writeSync(2, formatErrorChain(chain));
  return process.exit(1);
}
