import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { type MonitorEvent, parseEventMonitor } from '../doubles/cloud-hypervisor/event-monitor.js';
import { parseRequestRecord, type RequestRecordEntry } from '../doubles/cloud-hypervisor/request-record.js';
import { ChSpec, DEFAULT_SPEC_PATH } from '../doubles/cloud-hypervisor/spec.js';
import { eventually } from './eventually.js';

/**
 * What tests need to run hearthd's Cloud Hypervisor driver against the contract double (there is
 * no CH binary on the test machines): where the double is, how to read what it recorded, and a
 * way to start one directly for tests of the double itself. See doubles/cloud-hypervisor/README.md.
 */

export type { MonitorEvent, RequestRecordEntry };
export { parseEventMonitor };

/** Absolute path of the executable double: give it to the driver in place of `cloud-hypervisor`. */
export const CH_DOUBLE_PATH = resolve(
  import.meta.dirname,
  '..',
  'doubles',
  'cloud-hypervisor',
  'cloud-hypervisor-double',
);

/** The description of CH's API the double validates against (in the project: doubles/cloud-hypervisor/). */
export const CH_SPEC_PATH = process.env.HEARTH_CH_DOUBLE_SPEC ?? DEFAULT_SPEC_PATH;

/** The line the double's simulated guest writes to its serial file once it is "up". */
export const GUEST_READY_MARKER = 'HEARTH-GUEST-READY';

let spec: ChSpec | undefined;
/** The parsed spec, for checking a response body (`chSpec().validateResponse(...)`). */
export function chSpec(): ChSpec {
  return (spec ??= new ChSpec(CH_SPEC_PATH));
}

/** Where the double records the requests it received for a given API socket path. */
export function requestRecordPath(apiSocket: string): string {
  return `${apiSocket}.requests.jsonl`;
}

/** Every request the double behind `apiSocket` received, in order (empty if none yet). */
export function readRequestRecord(apiSocket: string): RequestRecordEntry[] {
  const path = requestRecordPath(apiSocket);
  return existsSync(path) ? parseRequestRecord(readFileSync(path, 'utf8')) : [];
}

/**
 * Throws unless every recorded request matched the spec. With `allowUnknownProperties: false`
 * (the default), properties the spec does not define fail too: CH would silently ignore them.
 */
export function assertAllRequestsValid(
  entries: RequestRecordEntry[],
  { allowUnknownProperties = false }: { allowUnknownProperties?: boolean } = {},
): void {
  const bad = entries.filter((e) => !e.valid || (!allowUnknownProperties && e.warnings.length > 0));
  if (bad.length > 0) {
    const lines = bad.map((e) => `${e.method} ${e.path}: ${[...e.errors, ...e.warnings].join('; ')}`);
    throw new Error(`requests not valid against the Cloud Hypervisor spec:\n${lines.join('\n')}`);
  }
}

/** Reads an `--event-monitor` file the double (or CH) wrote. */
export function readEventMonitor(path: string): MonitorEvent[] {
  return existsSync(path) ? parseEventMonitor(readFileSync(path, 'utf8')) : [];
}

/** `source.event` names, e.g. `vm.booted`, for compact order assertions. */
export function eventNames(events: MonitorEvent[]): string[] {
  return events.map((e) => `${e.source}.${e.event}`);
}

/** A double started directly by a test (a driver under test spawns its own instead). */
export class ChDoubleProcess {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  exitCode: number | null | undefined;
  exitSignal: NodeJS.Signals | null = null;
  private readonly exited: Promise<number | null>;

  constructor(
    readonly child: ChildProcess,
    readonly apiSocket: string | undefined,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => this.stdout.push(chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString('utf8')));
    this.exited = new Promise((resolvePromise) =>
      child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolvePromise(code);
      }),
    );
  }

  /** Spawns the launcher by absolute path with an argument array and no shell, as a driver would. */
  static spawn(args: string[], env: Record<string, string> = {}): ChDoubleProcess {
    const child = spawn(CH_DOUBLE_PATH, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    const i = args.indexOf('--api-socket');
    const value = i >= 0 ? args[i + 1] : undefined;
    return new ChDoubleProcess(child, value?.replace(/^path=/, ''));
  }

  /**
   * Resolves once the API socket accepts connections. It only connects (no HTTP request), so the
   * request record holds exactly what the test or driver sent.
   */
  async waitForApi(timeoutMs = 10_000): Promise<void> {
    const socket = this.apiSocket;
    if (socket === undefined) throw new Error('started without --api-socket');
    await eventually(async () => existsSync(socket) && (await accepts(socket)), {
      what: "the double's API to answer",
      timeoutMs,
      intervalMs: 20,
      giveUp: () =>
        this.exitCode === undefined ? undefined : `the double exited with ${this.exitCode}: ${this.stderr.join('')}`,
    });
  }

  waitForExit(): Promise<number | null> {
    return this.exited;
  }

  /** SIGKILL if still running; for afterEach/afterAll. */
  async dispose(): Promise<void> {
    if (this.exitCode === undefined) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

function accepts(socketPath: string): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('error', () => resolvePromise(false));
  });
}
