import { rm, unlink } from 'node:fs/promises';
import { parseSubnet } from '../network/subnet.js';
import type { Settings } from '#protocol';
import { messageOf } from '../errors.js';
import type { EventBus } from '../events/event-bus.js';
import type { ImageStore } from '../images/image-store.js';
import { environmentLog, type Logger } from '../log.js';
import { hasGuestChannel, type VmmDriver } from '../vmm/driver.js';
import { describeExit, killProcess, processInfo } from '../system/process.js';
import type { VmmRegistry } from '../vmm/registry.js';
import type { Component, ComponentContext } from './components/component.js';
import { runEach, runHook, teardownAll } from './components/pipeline.js';
import type { Entry } from './entry.js';
import { journal } from './journal.js';
import { lastWords, launch, vmSpec, type LauncherDeps } from './launcher.js';
import { stamp, transition, type Effect, type LifecycleEvent, type Transition } from './lifecycle.js';
import { Readiness, waitingProvisioning } from './readiness.js';
import type { RepositoryAccess } from './repository/access.js';
import { saveRecord, toWire } from './record.js';
import { EnvironmentRuntime } from './runtime.js';
import { isSameProcess, killStrays } from './vmm-identity.js';
import type { VmmUser } from '../system/passwd.js';

/** After `quit`/`vmm.shutdown`, how long before SIGKILL. */
const TERMINATE_GRACE_MS = 3_000;

export type CrashPoint = 'create:after-disk' | 'create:after-launch' | 'delete:after-kill' | 'launch:after-prepare';

export interface ReconcilerDeps {
  log: Logger;
  bus: EventBus;
  settings: () => Settings;
  images: ImageStore;
  vmms: VmmRegistry;
  components: readonly Component[];
  vmmUser: VmmUser | undefined;
  /** Called with an environment that is gone for good. */
  forget: (entry: Entry) => void;
  /** May an autostarting environment run now? A refusal's message, or undefined. */
  admitAutostart: (entry: Entry) => Promise<string | undefined>;
  crashPoint: (point: CrashPoint) => void;
  /** Repository access, for environments created from a repository (readiness clones them). */
  repositories: RepositoryAccess | undefined;
}

const now = () => new Date().toISOString();

/**
 * The one place an environment changes. Every command, observation of a VMM and start-up
 * recovery becomes a lifecycle event; `dispatch` applies the pure transition, records and
 * publishes the result, and runs its effects. Callers hold the environment's lock.
 */
export class Reconciler {
  private readonly readiness: Readiness;

  constructor(private readonly d: ReconcilerDeps) {
    this.readiness = new Readiness({
      settings: d.settings,
      images: d.images,
      log: (entry) => this.logOf(entry),
      journal: (entry, event, message) => this.journal(entry, event, message),
      dispatch: (entry, event) => this.dispatch(entry, event),
      persist: (entry) => this.persist(entry),
      repositories: d.repositories,
    });
  }

  /** Applies `event`; returns the refusal's text when the lifecycle refuses it. */
  async dispatch(entry: Entry, event: LifecycleEvent): Promise<string | undefined> {
    const { spec, status } = entry.record;
    const result = transition(
      { state: status.state, desired: spec.desired, autostart: spec.autostart, failure: entry.runtime.failure },
      event,
    );
    if ('refused' in result) return result.refused;
    await this.apply(entry, result);
    for (const effect of result.effects) await this.run(entry, effect);
    return undefined;
  }

  /** Evidence at hearthd's start: is the recorded VMM alive and really this environment's? */
  async recover(entry: Entry): Promise<void> {
    const alive = await this.liveVmm(entry);
    if (!alive) {
      // A crash between starting a VMM and recording it leaves one that only its command line names.
      await killStrays(entry.layout.stateDir, await this.d.vmms.binaryNames(), this.logOf(entry));
      await runEach(this.d.components, 'recover', this.context(entry, undefined));
    }
    const { spec } = entry.record;
    let mayAutostart = false;
    if (!alive && spec.autostart && spec.desired === 'running' && entry.record.status.state !== 'deleting') {
      const refusal = await this.d.admitAutostart(entry);
      if (refusal) await this.journal(entry, 'autostart-refused', refusal);
      mayAutostart = refusal === undefined;
    }
    await this.dispatch(entry, {
      type: 'recovered',
      vmmAlive: alive !== undefined,
      vmmRecorded: entry.record.runtime !== null,
      mayAutostart,
    });
  }

  /** Is the VMM still there? If not, the lifecycle hears that it exited, and how. */
  async observe(entry: Entry): Promise<void> {
    const runtime = entry.record.runtime;
    if (!runtime || entry.checking) return;
    entry.checking = true;
    try {
      if (await isSameProcess(runtime)) return;
      const rt = entry.runtime;
      // Our own child: its exit status arrives within moments of its /proc entry going.
      if (rt.exitKnown && !rt.exit) await Promise.race([rt.exitKnown, new Promise((r) => setTimeout(r, 300))]);
      await entry.serial(async () => {
        if (entry.record.runtime !== runtime) return;
        const said = await lastWords(entry.layout.vmmLog, runtime.vmmLogOffset ?? 0);
        const exitText = rt.exit
          ? describeExit(rt.exit)
          : `VMM process ${runtime.pid} is gone (killed or crashed; it was started by an earlier hearthd run, so its exit status is not known)`;
        const lastExit = rt.handle?.lastExit;
        const detail =
          lastExit && lastExit !== 'unknown' && lastExit !== 'guest-poweroff' ? `; last guest event: ${lastExit}` : '';
        await this.dispatch(entry, {
          type: 'vmm-exited',
          poweredOff: lastExit === 'guest-poweroff',
          text: `${said ? `${exitText}; it said: ${said}` : exitText}${detail}`,
        });
      });
    } finally {
      entry.checking = false;
    }
  }

  // ---- applying a transition ---------------------------------------------------------

  private async apply(entry: Entry, t: Transition): Promise<void> {
    const { spec, status } = entry.record;
    const before = status.state;
    const changed =
      t.state !== before ||
      (t.desired !== undefined && t.desired !== spec.desired) ||
      (t.reason !== undefined && t.reason !== status.reason);
    if ('failure' in t) entry.runtime.failure = t.failure;
    if (t.desired !== undefined) spec.desired = t.desired;
    if (t.reason !== undefined) status.reason = t.reason;
    status.state = t.state;
    stamp(status, before, t.state, t.effects.includes('launch'));
    // A VMM that is gone is gone in the same saved change that says so (stopped with no pid),
    // never in a second one a reader could miss.
    // (Not before a `kill`: that effect still needs the record to find the VMM.)
    const released =
      t.effects.includes('release') &&
      !t.effects.includes('kill') &&
      (entry.record.runtime !== null || status.vmm?.pid != null);
    if (released) {
      entry.record.runtime = null;
      this.clearVmmPid(entry);
    }
    // The account line first: a client that refetches the event log on the announcement finds it.
    if (t.journal) await this.journal(entry, t.journal.event, t.journal.message);
    if (changed || released) await this.persist(entry);
  }

  async persist(entry: Entry): Promise<void> {
    entry.record.status.updatedAt = now();
    await saveRecord(entry.layout.record, entry.record);
    this.publish(entry, 'updated');
  }

  publish(entry: Entry, change: 'created' | 'updated' | 'deleted'): void {
    this.d.bus.publish({
      type: 'environment',
      change,
      environment: toWire(entry.record, parseSubnet(this.d.settings().networkSubnet)),
    });
  }

  /** hearthd's log for this environment: its lines name it (and its owner, who may read them). */
  logOf(entry: Entry): Logger {
    return environmentLog(this.d.log, entry.record.spec);
  }

  journal(entry: Entry, event: string, message: string): Promise<void> {
    return journal(this.d.log, entry.record.spec, entry.layout, event, message);
  }

  // ---- effects -----------------------------------------------------------------------

  private async run(entry: Entry, effect: Effect): Promise<void> {
    switch (effect) {
      case 'launch':
        return this.launch(entry);
      case 'reattach':
        return this.reattach(entry);
      case 'await-ready':
        return this.readiness.awaitReady(entry);
      case 'power-button':
        await this.beforeStop(entry);
        try {
          await entry.runtime.handle?.powerButton();
        } catch (error) {
          await this.journal(entry, 'stop-requested', `power button failed (${messageOf(error)}); terminating`);
          await this.terminate(entry);
        }
        return;
      case 'arm-stop-timer': {
        const seconds = this.d.settings().stopTimeoutSeconds;
        entry.runtime.after(seconds * 1000, () => {
          void entry.serial(async () => {
            if (entry.record.status.state !== 'stopping') return;
            await this.journal(
              entry,
              'stop-timeout',
              `guest still running ${seconds} s after the power button; terminating`,
            );
            await this.dispatch(entry, { type: 'stop-timeout' });
          });
        });
        return;
      }
      case 'terminate':
        await this.beforeStop(entry);
        return this.terminate(entry);
      case 'kill': {
        await this.beforeStop(entry);
        const live = await this.liveVmm(entry);
        if (live) await killProcess(live.pid);
        await killStrays(entry.layout.stateDir, await this.d.vmms.binaryNames(), this.logOf(entry));
        return;
      }
      case 'release':
        return this.release(entry);
      case 'remove':
        return this.remove(entry);
    }
  }

  context(entry: Entry, driver: VmmDriver | undefined): ComponentContext {
    return {
      spec: entry.record.spec,
      state: entry.record.components,
      layout: entry.layout,
      vmmUser: this.d.vmmUser,
      vmmOpensFiles: driver?.capabilities.opensFilesByPath ?? false,
      log: this.logOf(entry),
      journal: (event, message) => this.journal(entry, event, message),
    };
  }

  private async launch(entry: Entry): Promise<void> {
    entry.runtime.dispose();
    entry.runtime = new EnvironmentRuntime();
    const deps: LauncherDeps = { ...this.d, crashPoint: (p) => this.d.crashPoint(p) };
    let launched;
    try {
      this.clearVmmPid(entry);
      launched = await launch(deps, entry.record, (driver) => this.context(entry, driver));
    } catch (error) {
      await this.dispatch(entry, { type: 'launch-failed', reason: messageOf(error) });
      return;
    }
    const { driver, vm, vmSpec: launchedSpec, runtime, readyMarker, provisioning } = launched;
    const rt = entry.runtime;
    entry.record.runtime = runtime;
    if (provisioning === 'cloud-init') entry.record.status.provisioning = waitingProvisioning();
    rt.exitKnown = vm.process.exited.then((status) => (rt.exit = status));
    void rt.exitKnown.then(() => this.observe(entry));
    entry.record.status.vmm = { kind: driver.kind, version: driver.version, pid: runtime.pid };
    await this.persist(entry);
    await this.journal(entry, 'vmm-launched', `${driver.kind} ${driver.version} started as pid ${runtime.pid}`);
    rt.adopt(vm.handle, () => void this.observe(entry));
    const session = this.openSession(entry, driver, hasGuestChannel(launchedSpec));
    // Readiness subscribes to the session first (the await-ready effect), then the components.
    await this.dispatch(entry, {
      type: 'launched',
      waitsForMarker: readyMarker !== null || provisioning === 'cloud-init',
    });
    if (entry.runtime === rt) await runHook(this.d.components, 'afterLaunch', this.context(entry, driver), { session });
  }

  /** The runtime's guest session, on the channel the VM was given (none: a session that never hears anything). */
  private openSession(entry: Entry, driver: VmmDriver, hasChannel: boolean) {
    const spec = vmSpec(entry.record, this.context(entry, driver), {});
    return entry.runtime.openSession({
      endpoint: hasChannel ? driver.guestChannelEndpoint(spec) : undefined,
      log: this.logOf(entry),
    });
  }

  /** The components' last word before the VM is stopped, once per VMM, whatever stops it. */
  private async beforeStop(entry: Entry): Promise<void> {
    const rt = entry.runtime;
    if (rt.stopHooksRan || !rt.session) return;
    rt.stopHooksRan = true;
    await runHook(this.d.components, 'beforeStop', this.context(entry, this.driverOf(entry)), { session: rt.session });
  }

  /** The VMM that last ran it stays named in the status; only its pid goes. */
  private clearVmmPid(entry: Entry): void {
    if (entry.record.status.vmm) entry.record.status.vmm.pid = null;
  }

  private async reattach(entry: Entry): Promise<void> {
    const runtime = entry.record.runtime!;
    const driver = this.driverOf(entry)!;
    try {
      const handle = await driver.attach(vmSpec(entry.record, this.context(entry, driver), {}));
      entry.runtime.adopt(handle, () => void this.observe(entry));
      this.logOf(entry).info({ pid: runtime.pid }, 'reattached to running VMM');
      await this.journal(entry, 'reattached', `hearthd reattached to VMM pid ${runtime.pid}`);
      // Images with provisioning have the guest channel (the seed asks for it at every launch).
      const session = this.openSession(entry, driver, entry.record.status.provisioning !== undefined);
      // A starting environment is subscribed to by await-ready, which also decides on it.
      if (entry.record.status.provisioning && entry.record.status.state !== 'starting') this.readiness.watch(entry);
      await runHook(this.d.components, 'onReattach', this.context(entry, driver), { session });
    } catch (error) {
      this.logOf(entry).warn({ err: error }, 'VMM process is alive but does not answer; killing it');
      await killProcess(runtime.pid);
      await this.dispatch(entry, {
        type: 'vmm-exited',
        poweredOff: false,
        text: `VMM did not answer on its control socket after a hearthd restart (${messageOf(error)})`,
      });
    }
  }

  /** Ends the VMM: its own quit/shutdown first, SIGKILL if it is still there after a grace. */
  private async terminate(entry: Entry): Promise<void> {
    const runtime = entry.record.runtime;
    try {
      await entry.runtime.handle?.terminate();
    } catch (error) {
      this.logOf(entry).warn({ err: error }, 'VMM did not take the terminate command');
    }
    if (!runtime) return;
    const deadline = Date.now() + TERMINATE_GRACE_MS;
    while (Date.now() < deadline && (await isSameProcess(runtime))) await new Promise((r) => setTimeout(r, 50));
    if (await isSameProcess(runtime)) await killProcess(runtime.pid);
    // The exit is observed by the watcher (or the exit status) once this lock is released.
  }

  private async release(entry: Entry): Promise<void> {
    entry.runtime.dispose();
    await teardownAll(this.d.components, this.context(entry, this.driverOf(entry)));
    const hadRuntime = entry.record.runtime !== null || entry.record.status.vmm?.pid != null;
    entry.record.runtime = null;
    this.clearVmmPid(entry);
    if (hadRuntime && entry.record.status.state !== 'deleting') await this.persist(entry);
  }

  private async remove(entry: Entry): Promise<void> {
    const live = await this.liveVmm(entry);
    if (live) {
      await this.beforeStop(entry);
      try {
        await entry.runtime.handle?.terminate();
      } catch {
        // SIGKILL follows.
      }
      await killProcess(live.pid);
    }
    entry.runtime.dispose();
    await killStrays(entry.layout.stateDir, await this.d.vmms.binaryNames(), this.logOf(entry));
    this.d.crashPoint('delete:after-kill');
    const ctx = this.context(entry, this.driverOf(entry));
    await teardownAll(this.d.components, ctx);
    // The record goes first: a crash after this leaves a directory without a record, which the
    // next start removes; never a record whose files are half gone.
    await unlink(entry.layout.record).catch(() => undefined);
    await runEach(this.d.components, 'destroy', ctx);
    await rm(entry.layout.stateDir, { recursive: true, force: true });
    this.d.forget(entry);
    this.publish(entry, 'deleted');
    this.logOf(entry).info('environment deleted');
  }

  // ---- evidence ----------------------------------------------------------------------

  private driverOf(entry: Entry): VmmDriver | undefined {
    const runtime = entry.record.runtime;
    if (!runtime) return undefined;
    return this.d.vmms.forExisting(runtime.kind, runtime.binary, runtime.version, runtime.accel);
  }

  /** The live VMM of this environment, verified: the record's pid, its start time, its command line. */
  async liveVmm(entry: Entry): Promise<{ pid: number } | undefined> {
    const runtime = entry.record.runtime;
    const driver = this.driverOf(entry);
    if (!runtime || !driver) return undefined;
    const info = await processInfo(runtime.pid);
    if (!info || (runtime.startTime !== 0 && info.startTime !== runtime.startTime)) return undefined;
    if (!driver.owns(info.argv, vmSpec(entry.record, this.context(entry, driver), {}))) return undefined;
    return { pid: runtime.pid };
  }
}
