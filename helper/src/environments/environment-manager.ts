import { randomBytes } from 'node:crypto';
import { appendFile, chmod, chown, mkdir, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import writeFileAtomic from 'write-file-atomic';
import {
  Environment,
  VmmKind,
  type CreateEnvironment,
  type EnvironmentLogEntry,
  type EnvironmentClass,
  type EnvironmentState,
  type LogLines,
  type Settings,
} from '#protocol';
import { ApiError } from '../api/api-error.js';
import { compileValidator } from '../api/validation.js';
import type { EventBus } from '../events/event-bus.js';
import { isMissing } from '../host/host-root.js';
import type { ImageStore } from '../images/image-store.js';
import type { Logger } from '../log.js';
import type { VmHandle, VmmDriver, VmSpec } from '../vmm/driver.js';
import { describeExit, findProcesses, processInfo, type ExitStatus } from '../vmm/process.js';
import { QemuDriver } from '../vmm/qemu/qemu-driver.js';
import type { VmmRegistry } from '../vmm/registry.js';
import { admit } from './admission.js';
import type { ClassStore } from './class-store.js';
import { createOverlay } from './disks.js';
import { layoutOf, type EnvironmentLayout } from './layout.js';
import { cleanConsoleText, fileSize, followFile, readText, rotateIfLarge, tailLines } from './log-files.js';
import type { VmmUser } from './vmm-user.js';

/** Memory the runner itself needs per environment, on top of the guest's. */
export const OVERHEAD_MIB = 100;
/** How often live VMMs are checked in /proc (a death is noticed within this, or at once via QMP). */
const WATCH_INTERVAL_MS = 250;
/** After `quit`/`vmm.shutdown`, how long before SIGKILL. */
const TERMINATE_GRACE_MS = 3_000;

/** Test-only points where hearthd kills itself (`--test-crash-at`), to prove recovery. */
export const CRASH_POINTS = ['create:after-disk', 'create:after-launch', 'delete:after-kill'] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

const RuntimeRecord = Type.Object(
  {
    kind: VmmKind,
    binary: Type.String(),
    version: Type.String(),
    accel: Type.Union([Type.Literal('kvm'), Type.Literal('tcg')]),
    pid: Type.Integer(),
    startTime: Type.Number(),
    /** Console size when the VMM started: the ready marker is looked for after this. */
    consoleOffset: Type.Integer({ minimum: 0 }),
    /** vmm.log size when the VMM started: what it wrote since is its own account of its end. */
    vmmLogOffset: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
type RuntimeRecord = Static<typeof RuntimeRecord>;

/** `environment.json`: the environment as the API shows it, plus how to find its VMM. */
const StoredRecord = Type.Object(
  { version: Type.Literal(1), environment: Environment, runtime: Type.Union([RuntimeRecord, Type.Null()]) },
  { additionalProperties: false },
);
type StoredRecord = Static<typeof StoredRecord>;
const isStoredRecord = compileValidator(StoredRecord);

interface Entry {
  record: StoredRecord;
  layout: EnvironmentLayout;
  handle?: VmHandle | undefined;
  /** Exit status, when this hearthd run launched the VMM (its parent gets it). */
  exit?: ExitStatus | undefined;
  exitKnown?: Promise<ExitStatus> | undefined;
  stopFollowing?: (() => void) | undefined;
  stopTimer?: NodeJS.Timeout | undefined;
  /** Why hearthd itself ended the VMM (boot timeout), reported instead of the exit status. */
  failure?: string | undefined;
  /** Operations on one environment run one at a time. */
  queue: Promise<unknown>;
  checking: boolean;
}

export interface ManagerOptions {
  stateDir: string;
  runtimeDir: string;
  bus: EventBus;
  log: Logger;
  settings: () => Settings;
  classes: ClassStore;
  images: ImageStore;
  vmms: VmmRegistry;
  qemuImg: () => Promise<string>;
  vmmUser: VmmUser | undefined;
  hostMemoryMiB: () => Promise<number>;
  crashAt?: CrashPoint | undefined;
}

const ACTIVE: ReadonlySet<EnvironmentState> = new Set(['starting', 'running', 'stopping']);
const now = () => new Date().toISOString();

/**
 * Owns every environment: their records, disks, VMMs and logs. Desired state (what the user
 * asked for) and observed state (what runs) are kept apart, and one reconciliation decides the
 * observed state from evidence — at start-up and whenever a VMM is seen to change.
 */
export class EnvironmentManager {
  private readonly entries = new Map<string, Entry>();
  private watcher: NodeJS.Timeout | undefined;
  /** Admission and the move to `starting` happen under this, so two starts cannot both pass. */
  private admission: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: ManagerOptions) {}

  // ---- start-up and shutdown -------------------------------------------------------------

  /** Loads every record and reconciles it with what really runs. */
  async open(): Promise<void> {
    const root = join(this.o.stateDir, 'environments');
    // Explicit chmod: the service runs under UMask=0077, and the VMM user must traverse these.
    await mkdir(root, { recursive: true });
    await chmod(root, 0o711);
    await mkdir(join(this.o.runtimeDir, 'vms'), { recursive: true });
    await chmod(join(this.o.runtimeDir, 'vms'), 0o711);
    for (const id of await readdir(root)) {
      if (!/^env-[0-9a-f]{12}$/.test(id)) continue;
      const layout = layoutOf(this.o.stateDir, this.o.runtimeDir, id);
      let record: unknown;
      try {
        record = JSON.parse(await readFile(layout.record, 'utf8'));
      } catch (error) {
        // A crash before the first record write: nothing was promised to anyone; remove the rest.
        if (isMissing(error)) {
          this.o.log.warn({ id }, 'removing an environment directory without a record (interrupted create)');
          await this.killStray(layout, undefined);
          await rm(layout.stateDir, { recursive: true, force: true });
          await rm(layout.runtimeDir, { recursive: true, force: true });
          continue;
        }
        throw error;
      }
      if (!isStoredRecord(record)) {
        this.o.log.error({ id, file: layout.record }, 'environment record is invalid; leaving it alone');
        continue;
      }
      const entry: Entry = { record, layout, queue: Promise.resolve(), checking: false };
      this.entries.set(id, entry);
      await this.reconcile(entry);
    }
    this.watcher = setInterval(() => {
      this.watch();
    }, WATCH_INTERVAL_MS);
  }

  /** Stops watching. VMs keep running: a restarted hearthd reattaches to them. */
  close(): void {
    clearInterval(this.watcher);
    for (const entry of this.entries.values()) {
      entry.stopFollowing?.();
      clearTimeout(entry.stopTimer);
      entry.handle?.detach();
    }
  }

  private async reconcile(entry: Entry): Promise<void> {
    const env = entry.record.environment;
    const log = this.o.log.child({ env: env.id, envName: env.name });
    if (env.state === 'deleting') {
      log.info('finishing a delete that was interrupted');
      await this.removeEverything(entry);
      return;
    }
    const live = await this.findVmm(entry);
    if (env.state === 'creating') {
      if (live) await this.kill(live.pid);
      await this.killStray(entry.layout, undefined);
      await this.clearRuntime(entry);
      await this.transition(entry, 'failed', {
        reason: 'hearthd stopped while creating this environment; start it again or delete it',
        desired: 'stopped',
      });
      await this.journal(entry, 'recovered', 'create was interrupted by a hearthd restart; marked failed');
      return;
    }
    if (live && ACTIVE.has(env.state)) {
      try {
        const driver = this.driverOf(entry)!;
        const handle = await driver.attach(this.specFor(entry));
        this.adopt(entry, handle);
        log.info({ pid: live.pid }, 'reattached to running VMM');
        await this.journal(entry, 'reattached', `hearthd reattached to VMM pid ${live.pid}`);
        if (env.state === 'starting') {
          const marker = (await this.o.images.get(env.image))?.manifest.readyMarker ?? null;
          if (marker === null) await this.transition(entry, 'running', { readyAt: now() });
          else this.followReadiness(entry, marker);
        }
        if (env.state === 'stopping') this.armStopTimer(entry);
        return;
      } catch (error) {
        log.warn({ err: error }, 'VMM process is alive but does not answer; killing it');
        await this.kill(live.pid);
        await this.vmmGone(
          entry,
          `VMM did not answer on its control socket after a hearthd restart (${String(error)})`,
        );
        return;
      }
    }
    if (live) {
      log.warn({ pid: live.pid, state: env.state }, 'killing a VMM for an environment that should not run');
      await this.kill(live.pid);
    }
    await this.killStray(entry.layout, undefined);
    if (ACTIVE.has(env.state)) {
      await this.vmmGone(entry, 'its VMM exited while hearthd was not running');
    } else {
      await this.clearRuntime(entry);
    }
  }

  // ---- API operations ----------------------------------------------------------------

  list(): Environment[] {
    return [...this.entries.values()]
      .map((e) => structuredClone(e.record.environment))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name));
  }

  get(ref: string): Environment {
    return structuredClone(this.entry(ref).record.environment);
  }

  async create(request: CreateEnvironment, ownerUid: number | null): Promise<Environment> {
    const settings = this.o.settings();
    const cls = this.o.classes.get(request.class);
    if (!cls)
      throw new ApiError(
        'unprocessable',
        `There is no environment class "${request.class}"; choose one of: ${this.o.classes
          .list()
          .map((c) => c.name)
          .join(', ')}`,
      );
    this.checkClassFits(cls, settings);
    const imageName = request.image ?? (await this.defaultImage());
    const image = await this.o.images.get(imageName);
    if (!image)
      throw new ApiError(
        'unprocessable',
        `There is no image "${imageName}"; installed images: ${(await this.o.images.names()).join(', ') || 'none'}`,
      );
    const start = request.start ?? true;

    return this.admitted(start, async () => {
      if ([...this.entries.values()].some((e) => e.record.environment.name === request.name))
        throw new ApiError('conflict', `An environment named "${request.name}" already exists; choose another name`);
      if (start) {
        await this.checkAdmission(cls);
        await this.o.vmms.forNewVm(this.o.settings()); // a missing VMM is refused before anything is made
      }
      const id = `env-${randomBytes(6).toString('hex')}`;
      const layout = layoutOf(this.o.stateDir, this.o.runtimeDir, id);
      const time = now();
      const entry: Entry = {
        layout,
        queue: Promise.resolve(),
        checking: false,
        record: {
          version: 1,
          runtime: null,
          environment: {
            id,
            name: request.name,
            owner: { uid: ownerUid },
            class: cls.name,
            image: image.manifest.name,
            state: 'creating',
            reason: null,
            desired: start ? 'running' : 'stopped',
            resources: { cpus: cls.cpus, memoryMiB: cls.memoryMiB, diskGiB: cls.diskGiB },
            vmm: null,
            createdAt: time,
            updatedAt: time,
            startedAt: null,
            readyAt: null,
            stoppedAt: null,
          },
        },
      };
      await mkdir(layout.stateDir);
      await chmod(layout.stateDir, 0o711);
      await this.persist(entry);
      this.entries.set(id, entry);
      // Everything after this point holds the environment's own lock: a delete waits for it.
      await this.serial(entry, async () => {
        this.publish(entry, 'created');
        await this.journal(entry, 'created', `created from image ${image.manifest.name} with class ${cls.name}`);
        try {
          const started = Date.now();
          await createOverlay(await this.o.qemuImg(), image.disk, layout.disk, cls.diskGiB);
          await this.giveToVmmUser(layout.disk, 0o600);
          await this.journal(
            entry,
            'disk-created',
            `qcow2 overlay over ${image.manifest.name}, ${cls.diskGiB} GiB, in ${Date.now() - started} ms`,
          );
        } catch (error) {
          await this.transition(entry, 'failed', { reason: `could not create its disk: ${(error as Error).message}` });
          throw new ApiError('internal', `Could not create the disk of ${request.name}: ${(error as Error).message}`);
        }
        this.crashPoint('create:after-disk');
        if (!start) {
          await this.transition(entry, 'stopped', { reason: null });
          return;
        }
        try {
          await this.launch(entry);
        } catch (error) {
          // launch records its own failures; anything else must not leave a half-made "creating".
          if (entry.record.environment.state === 'creating')
            await this.transition(entry, 'failed', { reason: `could not start: ${(error as Error).message}` });
          throw error;
        }
        this.crashPoint('create:after-launch');
      });
    }).then(() => this.get(request.name));
  }

  async start(ref: string): Promise<Environment> {
    const entry = this.entry(ref);
    await this.serial(entry, async () => {
      const env = entry.record.environment;
      if (ACTIVE.has(env.state)) return;
      if (env.state !== 'stopped' && env.state !== 'failed')
        throw new ApiError('conflict', `${env.name} is ${env.state}; wait until it is stopped or failed`);
      const cls: EnvironmentClass = { name: env.class, description: '', ...env.resources };
      await this.admitted(true, async () => {
        await this.checkAdmission(cls);
        await this.launch(entry);
      });
    });
    return this.get(ref);
  }

  async stop(ref: string, force: boolean): Promise<Environment> {
    const entry = this.entry(ref);
    await this.serial(entry, async () => {
      const env = entry.record.environment;
      if (!ACTIVE.has(env.state)) {
        if (env.desired !== 'stopped') await this.transition(entry, env.state, { desired: 'stopped' });
        return;
      }
      await this.transition(entry, 'stopping', { desired: 'stopped', reason: null });
      if (force) {
        await this.journal(entry, 'stop-requested', 'forced stop: terminating the VMM');
        await this.terminate(entry);
        return;
      }
      await this.journal(entry, 'stop-requested', 'ACPI power button pressed');
      try {
        await entry.handle?.powerButton();
      } catch (error) {
        await this.journal(entry, 'stop-requested', `power button failed (${String(error)}); terminating`);
        await this.terminate(entry);
        return;
      }
      this.armStopTimer(entry);
    });
    return this.get(ref);
  }

  async restart(ref: string): Promise<Environment> {
    const entry = this.entry(ref);
    await this.stop(ref, false);
    const timeoutMs = (this.o.settings().stopTimeoutSeconds + 10) * 1000;
    const deadline = Date.now() + timeoutMs;
    while (ACTIVE.has(entry.record.environment.state)) {
      if (Date.now() > deadline)
        throw new ApiError('unavailable', `${entry.record.environment.name} did not stop within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return this.start(ref);
  }

  async delete(ref: string): Promise<Environment> {
    const entry = this.entry(ref);
    await this.serial(entry, async () => {
      await this.transition(entry, 'deleting', { desired: 'stopped' });
      await this.journal(entry, 'delete-requested', 'deleting: VMM and every file go');
      await this.removeEverything(entry);
    });
    return structuredClone(entry.record.environment);
  }

  async logs(ref: string, source: 'console' | 'events', tail: number): Promise<LogLines> {
    const { layout } = this.entry(ref);
    const lines =
      source === 'console'
        ? await tailLines(layout.console, layout.consoleRotated, tail, true)
        : await tailLines(layout.events, layout.eventsRotated, tail);
    return { source, lines };
  }

  /**
   * Follows a log: sends the last `tail` lines, then every new complete line, until the
   * returned function is called or the environment is deleted.
   */
  async followLogs(
    ref: string,
    source: 'console' | 'events',
    tail: number,
    onLine: (line: string) => void,
    onEnd: () => void,
  ): Promise<() => void> {
    const entry = this.entry(ref);
    const file = source === 'console' ? entry.layout.console : entry.layout.events;
    const offset = await fileSize(file);
    for (const line of (await this.logs(ref, source, tail)).lines) onLine(line);
    let partial = '';
    const stopFile = followFile(file, offset, (text) => {
      // Cleaned line by line: a control sequence may be split between two reads, never between lines.
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(source === 'console' ? cleanConsoleText(line) : line);
    });
    const gone = setInterval(() => {
      if (!this.entries.has(entry.record.environment.id)) {
        stop();
        onEnd();
      }
    }, 500);
    const stop = () => {
      stopFile();
      clearInterval(gone);
    };
    return stop;
  }

  // ---- classes ------------------------------------------------------------------------

  checkClassFits(cls: Pick<EnvironmentClass, 'name' | 'cpus' | 'memoryMiB'>, settings: Settings): void {
    if (cls.memoryMiB < settings.minimumMemoryMiB)
      throw new ApiError(
        'unprocessable',
        `Class ${cls.name} has ${cls.memoryMiB} MiB of memory, below the minimum of ${settings.minimumMemoryMiB} MiB (setting minimumMemoryMiB) by ${settings.minimumMemoryMiB - cls.memoryMiB} MiB`,
      );
    const hostCpus = availableParallelism();
    if (cls.cpus > hostCpus)
      throw new ApiError(
        'unprocessable',
        `Class ${cls.name} has ${cls.cpus} vCPUs but this machine has ${hostCpus}; use at most ${hostCpus}`,
      );
  }

  classInUse(name: string): string[] {
    return [...this.entries.values()]
      .filter((e) => e.record.environment.class === name)
      .map((e) => e.record.environment.name);
  }

  // ---- internals: lifecycle ------------------------------------------------------------

  private entry(ref: string): Entry {
    const byId = this.entries.get(ref);
    if (byId) return byId;
    for (const entry of this.entries.values()) if (entry.record.environment.name === ref) return entry;
    throw new ApiError('not-found', `There is no environment "${ref}" (GET /v1/environments lists them)`);
  }

  private serial<T>(entry: Entry, fn: () => Promise<T>): Promise<T> {
    const run = entry.queue.then(fn, fn);
    entry.queue = run.catch(() => undefined);
    return run;
  }

  private admitted<T>(needed: boolean, fn: () => Promise<T>): Promise<T> {
    if (!needed) return fn();
    const run = this.admission.then(fn, fn);
    this.admission = run.catch(() => undefined);
    return run;
  }

  private async checkAdmission(cls: Pick<EnvironmentClass, 'name' | 'memoryMiB'>): Promise<void> {
    const settings = this.o.settings();
    const active = [...this.entries.values()].filter((e) => ACTIVE.has(e.record.environment.state));
    const refusal = admit({
      running: active.map((e) => e.record.environment.resources.memoryMiB),
      requestMiB: cls.memoryMiB,
      maxEnvironments: settings.maxEnvironments,
      hostMemoryMiB: await this.o.hostMemoryMiB(),
      reservedMiB: settings.reservedHostMemoryMiB,
      overheadMiB: OVERHEAD_MIB,
    });
    if (refusal) throw new ApiError(refusal.code, refusal.message);
  }

  private async defaultImage(): Promise<string> {
    const names = await this.o.images.names();
    if (names.length === 1) return names[0]!;
    if (names.includes('default')) return 'default';
    throw new ApiError(
      'unprocessable',
      names.length === 0
        ? 'No image is installed; an administrator installs one with: hearthd install-image --name … (see README)'
        : `Name an image: ${names.join(', ')}`,
    );
  }

  private specFor(entry: Entry, image?: { kernel: string; initrd: string | null; cmdline: string }): VmSpec {
    const env = entry.record.environment;
    return {
      id: env.id,
      cpus: env.resources.cpus,
      memoryMiB: env.resources.memoryMiB,
      kernel: image?.kernel ?? '',
      initrd: image?.initrd ?? null,
      cmdline: image?.cmdline ?? '',
      disk: entry.layout.disk,
      consoleFile: entry.layout.console,
      vmmLogFile: entry.layout.vmmLog,
      runtimeDir: entry.layout.runtimeDir,
      ...(this.o.vmmUser && { uid: this.o.vmmUser.uid, gid: this.o.vmmUser.gid }),
    };
  }

  private driverOf(entry: Entry): VmmDriver | undefined {
    const runtime = entry.record.runtime;
    if (!runtime) return undefined;
    return this.o.vmms.forExisting(runtime.kind, runtime.binary, runtime.version, runtime.accel);
  }

  /** Launches the VMM; the caller holds the admission lock and has checked admission. */
  private async launch(entry: Entry): Promise<void> {
    const env = entry.record.environment;
    const image = await this.o.images.get(env.image);
    if (!image) {
      await this.transition(entry, 'failed', { reason: `its image ${env.image} is no longer installed` });
      throw new ApiError('unprocessable', `The image ${env.image} of ${env.name} is no longer installed; reinstall it`);
    }
    let driver: VmmDriver;
    try {
      driver = await this.o.vmms.forNewVm(this.o.settings());
    } catch (error) {
      await this.transition(entry, 'failed', { reason: (error as Error).message });
      throw error;
    }
    const diskPresent = (await fileSize(entry.layout.disk)) > 0;
    if (!diskPresent) {
      await createOverlay(await this.o.qemuImg(), image.disk, entry.layout.disk, env.resources.diskGiB);
      await this.giveToVmmUser(entry.layout.disk, 0o600);
      await this.journal(entry, 'disk-created', 'disk was missing; created a new overlay');
    }
    await rotateIfLarge(entry.layout.console, entry.layout.consoleRotated);
    await appendFile(entry.layout.console, '', { mode: 0o640 });
    await this.giveToVmmUser(entry.layout.console, 0o640);
    await rm(entry.layout.runtimeDir, { recursive: true, force: true });
    await mkdir(entry.layout.runtimeDir, { recursive: true, mode: 0o700 });
    await this.giveToVmmUser(entry.layout.runtimeDir, 0o700);
    const consoleOffset = await fileSize(entry.layout.console);
    const vmmLogOffset = await fileSize(entry.layout.vmmLog);

    await this.transition(entry, 'starting', {
      desired: 'running',
      reason: null,
      startedAt: now(),
      readyAt: null,
      stoppedAt: null,
      vmm: { kind: driver.kind, version: driver.version, pid: null },
    });
    const spec = this.specFor(entry, {
      kernel: image.kernel,
      initrd: image.initrd,
      cmdline: image.manifest.cmdline,
    });
    let launched;
    try {
      launched = await driver.launch(spec);
    } catch (error) {
      const detail = (await readText(entry.layout.vmmLog)).trim().split('\n').slice(-3).join(' | ');
      const reason = `${driver.kind} failed to start: ${(error as Error).message}${detail ? ` (${detail})` : ''}`;
      await this.clearRuntime(entry);
      await this.transition(entry, 'failed', {
        reason,
        vmm: { kind: driver.kind, version: driver.version, pid: null },
      });
      await this.journal(entry, 'launch-failed', reason);
      throw new ApiError('internal', `Could not start ${env.name}: ${reason}`);
    }
    const { process: vmm, handle } = launched;
    entry.record.runtime = {
      kind: driver.kind,
      binary: driver.binary,
      version: driver.version,
      accel: driver instanceof QemuDriver ? driver.accel : 'tcg',
      pid: vmm.pid,
      startTime: vmm.startTime,
      consoleOffset,
      vmmLogOffset,
    };
    await writeFileAtomic(entry.layout.pidFile, `${JSON.stringify({ pid: vmm.pid, startTime: vmm.startTime })}\n`, {
      mode: 0o644,
    });
    entry.exit = undefined;
    entry.exitKnown = vmm.exited.then((status) => {
      entry.exit = status;
      return status;
    });
    void entry.exitKnown.then(() => this.check(entry));
    await this.transition(entry, 'starting', { vmm: { kind: driver.kind, version: driver.version, pid: vmm.pid } });
    await this.journal(entry, 'vmm-launched', `${driver.kind} ${driver.version} started as pid ${vmm.pid}`);
    this.adopt(entry, handle);
    if (image.manifest.readyMarker === null) {
      await this.transition(entry, 'running', { readyAt: now() });
      await this.journal(entry, 'ready', 'VMM booted the guest (this image has no ready marker)');
    } else {
      this.followReadiness(entry, image.manifest.readyMarker);
    }
  }

  private adopt(entry: Entry, handle: VmHandle): void {
    entry.handle?.detach();
    entry.handle = handle;
    handle.onClose(() => {
      void this.check(entry);
    });
  }

  /** Watches the console for the image's ready marker; then the environment is running. */
  private followReadiness(entry: Entry, marker: string): void {
    entry.stopFollowing?.();
    const runtime = entry.record.runtime;
    if (!runtime) return;
    let seen = '';
    // A guest that never reports ready is ended, not left "starting" for ever.
    const seconds = this.o.settings().bootTimeoutSeconds;
    const startedAt = Date.parse(entry.record.environment.startedAt ?? now());
    const timer = setTimeout(
      () => {
        void this.serial(entry, async () => {
          if (entry.record.environment.state !== 'starting') return;
          entry.failure = `the guest did not print its ready marker (${marker}) within ${seconds} s (bootTimeoutSeconds); its console log may say why`;
          await this.journal(entry, 'boot-timeout', entry.failure);
          await this.terminate(entry);
        });
      },
      Math.max(0, startedAt + seconds * 1000 - Date.now()),
    );
    const stopFile = followFile(entry.layout.console, runtime.consoleOffset, (text) => {
      seen = (seen + text).slice(-4096);
      if (!seen.includes(marker)) return;
      stop();
      entry.stopFollowing = undefined;
      void this.serial(entry, async () => {
        if (entry.record.environment.state !== 'starting') return;
        await this.transition(entry, 'running', { readyAt: now() });
        await this.journal(entry, 'ready', `guest printed its ready marker (${marker})`);
      });
    });
    const stop = () => {
      stopFile();
      clearTimeout(timer);
    };
    entry.stopFollowing = stop;
  }

  private armStopTimer(entry: Entry): void {
    clearTimeout(entry.stopTimer);
    const seconds = this.o.settings().stopTimeoutSeconds;
    entry.stopTimer = setTimeout(() => {
      void this.serial(entry, async () => {
        if (entry.record.environment.state !== 'stopping') return;
        await this.journal(
          entry,
          'stop-timeout',
          `guest still running ${seconds} s after the power button; terminating`,
        );
        await this.terminate(entry);
      });
    }, seconds * 1000);
  }

  /** Ends the VMM: its own quit/shutdown first, SIGKILL if it is still there after a grace. */
  private async terminate(entry: Entry): Promise<void> {
    const runtime = entry.record.runtime;
    try {
      await entry.handle?.terminate();
    } catch (error) {
      this.o.log.warn({ env: entry.record.environment.id, err: error }, 'VMM did not take the terminate command');
    }
    if (runtime) {
      const deadline = Date.now() + TERMINATE_GRACE_MS;
      while (Date.now() < deadline && (await this.sameProcess(runtime))) await new Promise((r) => setTimeout(r, 50));
      if (await this.sameProcess(runtime)) await this.kill(runtime.pid);
    }
    // No check() here: terminate runs under the environment's lock, which check() takes too.
    // The watcher (or the exit status) records the end within a tick.
  }

  private async sameProcess(runtime: RuntimeRecord): Promise<boolean> {
    const info = await processInfo(runtime.pid);
    return info !== undefined && (runtime.startTime === 0 || info.startTime === runtime.startTime);
  }

  /** The live VMM of this environment, verified (pid file is only a hint). */
  private async findVmm(entry: Entry): Promise<{ pid: number } | undefined> {
    const runtime = entry.record.runtime;
    const driver = this.driverOf(entry);
    if (!runtime || !driver) return undefined;
    let pid = runtime.pid;
    try {
      const fromFile = JSON.parse(await readFile(entry.layout.pidFile, 'utf8')) as { pid?: number };
      if (typeof fromFile.pid === 'number') pid = fromFile.pid;
    } catch {
      // No pid file: use the record's.
    }
    const info = await processInfo(pid);
    if (!info || !driver.owns(info.argv, this.specFor(entry))) return undefined;
    return { pid };
  }

  /** Kills any process whose command line names this environment's runtime dir except `keep`. */
  private async killStray(layout: EnvironmentLayout, keep: number | undefined): Promise<void> {
    for (const stray of await findProcesses(`${layout.runtimeDir}/`)) {
      if (stray.pid === keep) continue;
      this.o.log.warn({ pid: stray.pid, argv: stray.argv.slice(0, 3) }, 'killing a stray VMM');
      await this.kill(stray.pid);
    }
  }

  private async kill(pid: number): Promise<void> {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    const deadline = Date.now() + 2_000;
    while (Date.now() < deadline && (await processInfo(pid))) await new Promise((r) => setTimeout(r, 20));
  }

  private ticks = 0;
  private watch(): void {
    this.ticks += 1;
    for (const entry of this.entries.values()) {
      if (!entry.record.runtime || !ACTIVE.has(entry.record.environment.state)) continue;
      void this.check(entry);
      // The console cap is enforced every few seconds while the VMM writes to it.
      if (this.ticks % 20 === 0)
        rotateIfLarge(entry.layout.console, entry.layout.consoleRotated).catch(() => undefined);
    }
  }

  /** Is the VMM still there? If not, the environment becomes stopped or failed. */
  private async check(entry: Entry): Promise<void> {
    const runtime = entry.record.runtime;
    if (!runtime || entry.checking) return;
    entry.checking = true;
    try {
      if (await this.sameProcess(runtime)) return;
      // Our own child: its exit status arrives within moments of the /proc entry going.
      if (entry.exitKnown && !entry.exit) await Promise.race([entry.exitKnown, new Promise((r) => setTimeout(r, 300))]);
      await this.serial(entry, async () => {
        if (entry.record.runtime !== runtime) return;
        const said = await this.vmmLastWords(entry.layout.vmmLog, runtime.vmmLogOffset ?? 0);
        const exitText = entry.exit
          ? describeExit(entry.exit)
          : `VMM process ${runtime.pid} is gone (killed or crashed; it was started by an earlier hearthd run, so its exit status is not known)`;
        await this.vmmGone(entry, said ? `${exitText}; it said: ${said}` : exitText);
      });
    } finally {
      entry.checking = false;
    }
  }

  /** The last line the VMM wrote to its own log since it started, if any. */
  private async vmmLastWords(file: string, offset: number): Promise<string | undefined> {
    const text = (await readText(file)).slice(offset).trim();
    const last = text.split('\n').at(-1)?.trim();
    return last ? last.slice(0, 300) : undefined;
  }

  /** Records that the VMM is gone: stopped when asked for or powered off by the guest, else failed. */
  private async vmmGone(entry: Entry, exitText: string): Promise<void> {
    const env = entry.record.environment;
    const lastExit = entry.handle?.lastExit;
    entry.stopFollowing?.();
    entry.stopFollowing = undefined;
    clearTimeout(entry.stopTimer);
    entry.handle?.detach();
    entry.handle = undefined;
    await this.clearRuntime(entry);
    if (env.state === 'deleting') return;
    let state: EnvironmentState;
    let reason: string;
    const failure = entry.failure;
    entry.failure = undefined;
    if (failure) {
      state = 'failed';
      reason = failure;
    } else if (env.desired === 'stopped' || env.state === 'stopping') {
      state = 'stopped';
      reason =
        lastExit === 'guest-poweroff' ? 'stopped on request (guest powered off)' : `stopped on request (${exitText})`;
    } else if (lastExit === 'guest-poweroff') {
      state = 'stopped';
      reason = 'the guest powered itself off';
    } else {
      state = 'failed';
      const detail = lastExit && lastExit !== 'unknown' ? `; last guest event: ${lastExit}` : '';
      reason = `${exitText}${detail}`;
    }
    await this.transition(entry, state, {
      reason,
      desired: 'stopped',
      stoppedAt: now(),
      vmm: env.vmm && { ...env.vmm, pid: null },
    });
    await this.journal(entry, 'exited', `${exitText}; now ${state}: ${reason}`);
  }

  private async clearRuntime(entry: Entry): Promise<void> {
    entry.record.runtime = null;
    await rm(entry.layout.runtimeDir, { recursive: true, force: true });
  }

  private async removeEverything(entry: Entry): Promise<void> {
    entry.stopFollowing?.();
    clearTimeout(entry.stopTimer);
    const live = await this.findVmm(entry);
    if (live) {
      try {
        await entry.handle?.terminate();
      } catch {
        // SIGKILL follows.
      }
      await this.kill(live.pid);
    }
    await this.killStray(entry.layout, undefined);
    entry.handle?.detach();
    entry.handle = undefined;
    this.crashPoint('delete:after-kill');
    await rm(entry.layout.runtimeDir, { recursive: true, force: true });
    // The record goes first: a crash after this leaves a directory without a record, which the
    // next start removes; never a record whose files are half gone.
    await unlink(entry.layout.record).catch(() => undefined);
    await rm(entry.layout.stateDir, { recursive: true, force: true });
    this.entries.delete(entry.record.environment.id);
    this.publish(entry, 'deleted');
    this.o.log.info(
      { env: entry.record.environment.id, envName: entry.record.environment.name },
      'environment deleted',
    );
  }

  // ---- internals: persistence, events ----------------------------------------------------

  private async transition(
    entry: Entry,
    state: EnvironmentState,
    changes: Partial<Omit<Environment, 'id' | 'name' | 'state'>> = {},
  ): Promise<void> {
    Object.assign(entry.record.environment, changes, { state, updatedAt: now() });
    await this.persist(entry);
    this.publish(entry, 'updated');
  }

  private async persist(entry: Entry): Promise<void> {
    await writeFileAtomic(entry.layout.record, `${JSON.stringify(entry.record, null, 2)}\n`, { mode: 0o600 });
  }

  private publish(entry: Entry, change: 'created' | 'updated' | 'deleted'): void {
    this.o.bus.publish({ type: 'environment', change, environment: structuredClone(entry.record.environment) });
  }

  /** hearthd's own log of what it did to the environment (`events.log`). */
  private async journal(entry: Entry, event: string, message: string): Promise<void> {
    const line: EnvironmentLogEntry = { time: now(), event, message };
    try {
      await rotateIfLarge(entry.layout.events, entry.layout.eventsRotated);
      await appendFile(entry.layout.events, `${JSON.stringify(line)}\n`, { mode: 0o600 });
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    this.o.log.info({ env: entry.record.environment.id, envName: entry.record.environment.name, event }, message);
  }

  private async giveToVmmUser(path: string, mode: number): Promise<void> {
    await chmod(path, mode);
    if (this.o.vmmUser) await chown(path, this.o.vmmUser.uid, this.o.vmmUser.gid);
  }

  private crashPoint(point: CrashPoint): void {
    if (this.o.crashAt === point) {
      this.o.log.warn({ point }, 'test crash point reached: killing hearthd');
      process.kill(process.pid, 'SIGKILL');
    }
  }
}
