import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CreateEnvironment, Environment, EnvironmentStats, LogLines, Settings } from '#protocol';
import { DomainError, messageOf } from '../errors.js';
import type { EventBus } from '../events/event-bus.js';
import type { ImageStore } from '../images/image-store.js';
import type { Logger } from '../log.js';
import type { VmmRegistry } from '../vmm/registry.js';
import type { Caller } from '../caller.js';
import { mayAct } from './access.js';
import { AdmissionGate } from './admission-gate.js';
import type { ClassStore } from './class-store.js';
import type { Component } from './components/component.js';
import { builtInComponents } from './components/built-in.js';
import { initAll, runEach } from './components/pipeline.js';
import type { NetworkService } from '../network/network-service.js';
import type { RepositoryAccess } from './repository/access.js';
import { Entry } from './entry.js';
import { layoutOf } from './layout.js';
import { isActive } from './lifecycle.js';
import { checkCounts, checkFreeSpace } from './caps.js';
import { resolveCreateInputs, storedRepository } from './create-inputs.js';
import { followLog, readLog, type LogSink, type LogSource } from './environment-logs.js';
import { rotateIfLarge } from './log-files.js';
import { sampleRunning, StatsSampler } from './stats.js';
import { Reconciler, type CrashPoint } from './reconciler.js';
import { newRecord, saveRecord, toWire, type EnvironmentRecord } from './record.js';
import { loadStoredEntries } from './stored-entries.js';
import type { VmmUser } from '../system/passwd.js';
import { parseSubnet } from '../network/subnet.js';

export type { CrashPoint } from './reconciler.js';

/** How often live VMMs are checked in /proc (a death is noticed within this, or at once via QMP). */
const WATCH_INTERVAL_MS = 250;
/** How often the console and vmm.log caps are enforced while VMMs write to them. */
const ROTATE_INTERVAL_MS = 5_000;

/** Test-only points where hearthd kills itself (`--test-crash-at`), to prove recovery. */
export const CRASH_POINTS: readonly CrashPoint[] = [
  'create:after-disk',
  'create:after-launch',
  'delete:after-kill',
  'launch:after-prepare',
];

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
  /** A trusted system program by name (executables.ts): ssh-keygen, mkfs.fat, mtools. */
  program: (name: string) => Promise<string>;
  /** Test-only (`--test-provision-fail NAME`): that environment's cloud-init gets a failing step. */
  testProvisionFail?: string | undefined;
  vmmUser: VmmUser | undefined;
  hostMemoryMiB: () => Promise<number>;
  /** The host side of guests' networking (network/network-service.ts). */
  network: NetworkService;
  crashAt?: CrashPoint | undefined;
  /** Extra components after the built-in ones (tests prove the pipeline with one). */
  extraComponents?: Component[];
  /** Repository access (the owner's credentials answered to the guest), for environments with a repository. */
  repositories?: RepositoryAccess;
}

/**
 * The environments' verbs — create, start, stop, restart, delete, and reading their logs — with
 * the checks that come before a change: who may act, admission, caps. Every change itself goes
 * through the reconciler, one environment at a time.
 */
export class EnvironmentManager {
  private readonly entries = new Map<string, Entry>();
  private readonly sampler = new StatsSampler();
  private readonly reconciler: Reconciler;
  private readonly components: readonly Component[];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly admission: AdmissionGate;

  constructor(private readonly o: ManagerOptions) {
    const components: Component[] = [
      ...builtInComponents({
        ...o,
        networkSubnet: () => o.settings().networkSubnet,
        takenPlaces: () => [...this.entries.values()].flatMap((e) => e.record.components.network ?? []),
      }),
      ...(o.extraComponents ?? []),
    ];
    this.components = components;
    this.admission = new AdmissionGate({
      settings: o.settings,
      hostMemoryMiB: o.hostMemoryMiB,
      activeMemoryMiB: () =>
        [...this.entries.values()]
          .filter((e) => isActive(e.record.status.state))
          .map((e) => e.record.spec.resources.memoryMiB),
    });
    this.reconciler = new Reconciler({
      log: o.log,
      bus: o.bus,
      settings: o.settings,
      images: o.images,
      vmms: o.vmms,
      components,
      vmmUser: o.vmmUser,
      forget: (entry) => this.entries.delete(entry.id),
      admitAutostart: async (entry) => {
        const refusal = await this.admission.refusal(entry.record.spec.resources.memoryMiB);
        return refusal?.message;
      },
      crashPoint: (point) => this.crashPoint(point),
      repositories: o.repositories,
    });
  }

  // ---- start-up and shutdown -------------------------------------------------------------

  /** Loads every record and reconciles it with what really runs. */
  async open(): Promise<void> {
    const root = join(this.o.stateDir, 'environments');
    // Explicit modes: the service runs under UMask=0077, and the VMM user must traverse these.
    await mkdir(root, { recursive: true });
    await chmod(root, 0o711);
    await mkdir(join(this.o.runtimeDir, 'vms'), { recursive: true });
    await chmod(join(this.o.runtimeDir, 'vms'), 0o700);
    const stored = await loadStoredEntries({
      stateDir: this.o.stateDir,
      runtimeDir: this.o.runtimeDir,
      vmmBinaryNames: () => this.o.vmms.binaryNames(),
      log: this.o.log,
    });
    for (const entry of stored) this.entries.set(entry.id, entry);
    // Environments that may autostart come last, so their admission counts every VMM that is
    // still running (reattached first), not only those whose directories happened to sort before.
    const mayAutostart = (e: Entry) => e.record.spec.autostart && e.record.spec.desired === 'running';
    const ordered = [...this.entries.values()].sort((a, b) => Number(mayAutostart(a)) - Number(mayAutostart(b)));
    for (const entry of ordered) await entry.serial(() => this.reconciler.recover(entry));
    this.timers.push(setInterval(() => this.watch(), WATCH_INTERVAL_MS));
    this.timers.push(setInterval(() => this.enforceCaps(), ROTATE_INTERVAL_MS));
  }

  /** Stops watching. VMs keep running: a restarted hearthd reattaches to them. */
  close(): void {
    for (const timer of this.timers) clearInterval(timer);
    for (const entry of this.entries.values()) entry.runtime.dispose();
  }

  private watch(): void {
    for (const entry of this.entries.values())
      if (entry.record.runtime && isActive(entry.record.status.state)) void this.reconciler.observe(entry);
  }

  private enforceCaps(): void {
    for (const entry of this.entries.values()) {
      if (!entry.record.runtime) continue;
      const { console, consoleRotated, vmmLog, vmmLogRotated } = entry.layout;
      rotateIfLarge(console, consoleRotated).catch(() => undefined);
      rotateIfLarge(vmmLog, vmmLogRotated).catch(() => undefined);
    }
  }

  // ---- reading -----------------------------------------------------------------------

  /** The caller's environments (root: all of them), oldest first. */
  list(caller: Caller): Environment[] {
    return [...this.entries.values()]
      .filter((e) => mayAct(caller, e.record.spec.owner.uid))
      .map((e) => this.wire(e.record))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name));
  }

  /** How many environments each image backs (an image in use cannot be deleted). */
  imageUsage(): Map<string, number> {
    const usage = new Map<string, number>();
    for (const entry of this.entries.values()) {
      const image = entry.record.spec.image;
      usage.set(image, (usage.get(image) ?? 0) + 1);
    }
    return usage;
  }

  /** Every environment's host number on the bridge (a new subnet must have room for them all). */
  networkHosts(): number[] {
    return [...this.entries.values()].flatMap((e) => e.record.components.network?.host ?? []);
  }

  get(ref: string, caller: Caller): Environment {
    return this.wire(this.entry(ref, caller).record);
  }

  // ---- commands ----------------------------------------------------------------------

  async create(request: CreateEnvironment, caller: Caller): Promise<Environment> {
    if (caller.uid === null)
      throw new DomainError('forbidden', 'hearthd could not tell which user is asking, so it creates nothing');
    const { cls, image } = await resolveCreateInputs(request, {
      classes: this.o.classes,
      images: this.o.images,
      settings: this.o.settings(),
    });
    const repository = request.repository === undefined ? undefined : storedRepository(request);
    if (repository && image.manifest.provisioning !== 'cloud-init')
      throw new DomainError(
        'invalid',
        `Image "${image.manifest.name}" has no provisioning, so nothing can clone a repository into it; choose a cloud-init image (Debian 12 or Ubuntu 24.04)`,
      );
    const start = request.start ?? true;

    // Always under the lock: the name and count checks must see every create before this one.
    const entry = await this.admission.serially(true, async () => {
      if ([...this.entries.values()].some((e) => e.name === request.name))
        throw new DomainError('conflict', `An environment named "${request.name}" already exists; choose another name`);
      checkCounts(
        [...this.entries.values()].map((e) => e.record.spec.owner.uid),
        caller,
        this.o.settings(),
      );
      await checkFreeSpace(this.o.stateDir, cls.diskGiB);
      if (start) {
        await this.admission.check(cls.memoryMiB);
        await this.o.vmms.forNewVm(this.o.settings()); // a missing VMM is refused before anything is made
      }
      const id = `env-${randomBytes(6).toString('hex')}`;
      const layout = layoutOf(this.o.stateDir, this.o.runtimeDir, id);
      const record = newRecord({
        id,
        name: request.name,
        owner: caller.uid,
        cls,
        image: image.manifest.name,
        desired: start ? 'running' : 'stopped',
        autostart: request.autostart ?? false,
        time: new Date().toISOString(),
        ...(request.sshPublicKey !== undefined && { sshPublicKey: request.sshPublicKey }),
        ...(repository && { repository }),
      });
      await mkdir(layout.stateDir);
      await chmod(layout.stateDir, 0o711);
      const made = new Entry(record, layout);
      // Before the record: a crash in between leaves a directory without one, removed at start;
      // a failure leaves nothing of this create behind.
      try {
        await initAll(this.components, this.reconciler.context(made, undefined), {
          image,
          isolated: request.isolated ?? false,
        });
      } catch (error) {
        await rm(layout.stateDir, { recursive: true, force: true });
        throw error;
      }
      await saveRecord(layout.record, record);
      this.entries.set(id, made);
      // Everything after this holds the environment's own lock: a delete waits for it.
      await made.serial(async () => {
        this.reconciler.publish(made, 'created');
        await this.reconciler.journal(
          made,
          'created',
          `created from image ${image.manifest.name} with class ${cls.name}`,
        );
        try {
          await runEach(this.components, 'create', this.reconciler.context(made, undefined));
        } catch (error) {
          await this.reconciler.dispatch(made, {
            type: 'launch-failed',
            reason: `could not create its disk: ${messageOf(error)}`,
          });
          return;
        }
        this.crashPoint('create:after-disk');
        await this.reconciler.dispatch(made, { type: 'created' });
        this.crashPoint('create:after-launch');
      });
      return made;
    });
    return this.wire(entry.record);
  }

  async start(ref: string, caller: Caller): Promise<Environment> {
    const entry = this.entry(ref, caller);
    await entry.serial(async () => {
      const { state } = entry.record.status;
      // Admission and the move to `starting` under one lock, so two starts cannot both pass.
      const needed = state === 'stopped' || state === 'failed';
      await this.admission.serially(needed, async () => {
        if (needed) await this.admission.check(entry.record.spec.resources.memoryMiB);
        await this.command(entry, { type: 'start' });
      });
    });
    return this.wire(entry.record);
  }

  async stop(ref: string, force: boolean, caller: Caller): Promise<Environment> {
    const entry = this.entry(ref, caller);
    await entry.serial(() => this.command(entry, { type: 'stop', force }));
    return this.wire(entry.record);
  }

  async restart(ref: string, caller: Caller): Promise<Environment> {
    const entry = this.entry(ref, caller);
    await this.stop(ref, false, caller);
    const timeoutMs = (this.o.settings().stopTimeoutSeconds + 10) * 1000;
    const deadline = Date.now() + timeoutMs;
    while (isActive(entry.record.status.state)) {
      if (Date.now() > deadline)
        throw new DomainError('unavailable', `${entry.name} did not stop within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return this.start(ref, caller);
  }

  async delete(ref: string, caller: Caller): Promise<Environment> {
    const entry = this.entry(ref, caller);
    await entry.serial(() => this.command(entry, { type: 'delete' }));
    return this.wire(entry.record);
  }

  private async command(entry: Entry, event: Parameters<Reconciler['dispatch']>[1]): Promise<void> {
    const refused = await this.reconciler.dispatch(entry, event);
    if (refused) throw new DomainError('conflict', `${entry.name}: ${refused}`);
  }

  // ---- logs ----------------------------------------------------------------------------

  logs(ref: string, source: LogSource, tail: number, caller: Caller): Promise<LogLines> {
    return readLog(this.entry(ref, caller).layout, source, tail);
  }

  /** Live figures of one of the caller's environments (stats.ts). */
  stats(ref: string, caller: Caller): Promise<EnvironmentStats> {
    return this.sampler.sample(this.entry(ref, caller));
  }

  /** Figures of every environment whose VMM runs, for the periodic stats event. */
  runningStats(): Promise<EnvironmentStats[]> {
    return sampleRunning(this.sampler, this.entries.values());
  }

  /** Follows a log until the returned function is called or the environment is deleted. */
  followLogs(
    ref: string,
    source: LogSource,
    tail: number,
    caller: Caller,
    to: Omit<LogSink, 'gone'>,
  ): Promise<() => void> {
    const entry = this.entry(ref, caller);
    return followLog(entry.layout, source, tail, { ...to, gone: () => !this.entries.has(entry.id) });
  }

  // ---- classes and checks ------------------------------------------------------------

  /** How many environments use a class, and the names of those the caller may see (no one else's). */
  classInUse(name: string, caller: Caller): { total: number; yours: string[] } {
    const users = [...this.entries.values()].filter((e) => e.record.spec.class === name);
    return {
      total: users.length,
      yours: users.filter((e) => mayAct(caller, e.record.spec.owner.uid)).map((e) => e.name),
    };
  }

  /** Another user's environment is "not found": its existence is not theirs to learn. */
  private wire(record: EnvironmentRecord): Environment {
    return toWire(record, parseSubnet(this.o.settings().networkSubnet));
  }

  private entry(ref: string, caller: Caller): Entry {
    const found = this.entries.get(ref) ?? [...this.entries.values()].find((e) => e.name === ref);
    if (!found || !mayAct(caller, found.record.spec.owner.uid))
      throw new DomainError(
        'not-found',
        `There is no environment "${ref}"`,
        'list your environments to see their names',
      );
    return found;
  }

  private crashPoint(point: CrashPoint): void {
    if (this.o.crashAt === point) {
      this.o.log.warn({ point }, 'test crash point reached: killing hearthd');
      process.kill(process.pid, 'SIGKILL');
    }
  }
}
