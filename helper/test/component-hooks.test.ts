import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnvironmentState, HearthEvent, Settings } from '#protocol';
import type { Caller } from '../src/caller.js';
import { ClassStore } from '../src/environments/class-store.js';
import type {
  Component,
  ComponentContext,
  LiveVm,
  SpecContribution,
} from '../src/environments/components/component.js';
import { EnvironmentManager } from '../src/environments/environment-manager.js';
import { EventBus } from '../src/events/event-bus.js';
import { ImageStore } from '../src/images/image-store.js';
import { createLogger } from '../src/log.js';
import { DEFAULT_BRIDGE } from '../src/network/names.js';
import { NetworkService } from '../src/network/network-service.js';
import { NetworkTools } from '../src/network/tools.js';
import { DEFAULT_SETTINGS } from '../src/settings/settings-store.js';
import { findExecutable } from '../src/system/executables.js';
import { HostRoot } from '../src/system/host-root.js';
import { VmmRegistry } from '../src/vmm/registry.js';
import { installTestImage, killVmms, TEST_IMAGE, TINY_CLASS } from './support/environments.js';
import { makePaths, type HearthdPaths } from './support/hearthd-process.js';

const ROOT: Caller = { uid: 0, admin: true };

/** Writes down every live-VM hook it is given, with what the guest session offered. */
class HookRecorder implements Component {
  readonly name = 'hook-recorder';
  readonly calls: string[] = [];
  private note(hook: string, ctx: ComponentContext, vm: LiveVm): Promise<void> {
    this.calls.push(`${hook} ${ctx.spec.name} session:${vm.session.available ? 'channel' : 'none'}`);
    return Promise.resolve();
  }
  afterLaunch = (ctx: ComponentContext, vm: LiveVm) => this.note('afterLaunch', ctx, vm);
  onReattach = (ctx: ComponentContext, vm: LiveVm) => this.note('onReattach', ctx, vm);
  beforeStop = (ctx: ComponentContext, vm: LiveVm) => this.note('beforeStop', ctx, vm);
  prepare = (): Promise<SpecContribution> => Promise.resolve({});
  teardown = (): Promise<void> => Promise.resolve();
  recover = (): Promise<void> => Promise.resolve();
  destroy = (): Promise<void> => Promise.resolve();
}

/**
 * The engine's seams with a real QEMU (TCG) VM, in process: a component added to the pipeline
 * hears after launch, on reattach by a second manager (as after a hearthd restart), and before
 * stop, each with the environment's guest session.
 */
describe('component hooks on a real VM', () => {
  let paths: HearthdPaths;
  const host = new HostRoot('/');
  const settings: Settings = { ...DEFAULT_SETTINGS, hypervisor: 'qemu', accel: 'tcg', minimumMemoryMiB: 64 };
  const log = createLogger('silent', { write: () => undefined });

  async function manager(recorder: HookRecorder, bus: EventBus): Promise<EnvironmentManager> {
    const program = async (name: string) => {
      const found = await findExecutable(host, name);
      if (!found.found) throw new Error(`${name} is not installed`);
      return found.executable.hostPath;
    };
    const made = new EnvironmentManager({
      stateDir: paths.stateDir,
      runtimeDir: paths.runtimeDir,
      bus,
      log,
      settings: () => settings,
      classes: await ClassStore.open(join(paths.stateDir, 'classes.json')),
      images: new ImageStore(join(paths.stateDir, 'images')),
      vmms: new VmmRegistry(host, { stateDir: paths.stateDir }, () => Promise.resolve(false)),
      qemuImg: () => program('qemu-img'),
      program,
      vmmUser: undefined,
      hostMemoryMiB: () => Promise.resolve(4096),
      // The test image has no provisioning: its environments get no network, so this is never opened.
      network: new NetworkService({
        runtimeDir: paths.runtimeDir,
        bridge: DEFAULT_BRIDGE,
        tools: new NetworkTools(host),
        settings: () => settings,
        log,
      }),
      extraComponents: [recorder],
    });
    await made.open();
    return made;
  }

  /** Resolves when the bus announces `name` in `state` (or at once if it is so already). */
  function reaches(bus: EventBus, m: EnvironmentManager, name: string, state: EnvironmentState): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`${name} did not become ${state}`));
      }, 60_000);
      const stop = bus.subscribe((event: HearthEvent) => {
        if (event.type === 'environment' && event.environment.name === name && event.environment.state === state) {
          clearTimeout(timer);
          stop();
          resolve();
        }
      });
      if (m.list(ROOT).some((e) => e.name === name && e.state === state)) {
        clearTimeout(timer);
        stop();
        resolve();
      }
    });
  }

  beforeAll(async () => {
    paths = await makePaths('hearth-hooks-');
    await installTestImage(paths);
    const classes = await ClassStore.open(join(paths.stateDir, 'classes.json'));
    await classes.put('tiny', TINY_CLASS);
  }, 180_000);

  afterAll(async () => {
    await killVmms(paths);
    await rm(paths.dir, { recursive: true, force: true });
  });

  it('calls afterLaunch, onReattach (after a restart) and beforeStop, each with the guest session', async () => {
    const first = new HookRecorder();
    const bus = new EventBus();
    const one = await manager(first, bus);
    const running = reaches(bus, one, 'hooks', 'running');
    await one.create({ name: 'hooks', class: 'tiny', image: TEST_IMAGE }, ROOT);
    await running;
    // No provisioning, so no guest channel: the session is there, and says so.
    expect(first.calls).toEqual(['afterLaunch hooks session:none']);
    // hearthd goes; the VM stays.
    one.close();

    const second = new HookRecorder();
    const bus2 = new EventBus();
    const two = await manager(second, bus2);
    expect(two.get('hooks', ROOT).state).toBe('running');
    expect(second.calls).toEqual(['onReattach hooks session:none']);

    const stopped = reaches(bus2, two, 'hooks', 'stopped');
    await two.stop('hooks', true, ROOT);
    await stopped;
    expect(second.calls).toEqual(['onReattach hooks session:none', 'beforeStop hooks session:none']);
    await two.delete('hooks', ROOT);
    two.close();
    expect(first.calls).toEqual(['afterLaunch hooks session:none']);
  }, 180_000);
});
