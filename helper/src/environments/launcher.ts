import { writeFile } from 'node:fs/promises';
import type { Settings } from '#protocol';
import { messageOf } from '../errors.js';
import type { Image, ImageStore } from '../images/image-store.js';
import { readTail, regularFileSize } from '../system/safe-read.js';
import type { LaunchedVm, VmmDriver, VmSpec } from '../vmm/driver.js';
import type { VmmRegistry } from '../vmm/registry.js';
import { killProcess } from '../system/process.js';
import type { Component, ComponentContext, SpecContribution } from './components/component.js';
import { prepareAll, teardownAll } from './components/pipeline.js';
import type { EnvironmentRecord, Runtime } from './record.js';

/** How much of vmm.log is read for the VMM's last words. */
const LAST_WORDS_BYTES = 16 * 1024;

export interface Launched {
  driver: VmmDriver;
  vm: LaunchedVm;
  /** What the VMM was started with. */
  vmSpec: VmSpec;
  runtime: Runtime;
  readyMarker: string | null;
  /** cloud-init: running only once the guest's agent reports it finished (readiness.ts). */
  provisioning: 'none' | 'cloud-init';
}

export interface LauncherDeps {
  images: ImageStore;
  vmms: VmmRegistry;
  settings: () => Settings;
  components: readonly Component[];
  /** Test-only crash points between steps. */
  crashPoint: (point: 'launch:after-prepare') => void;
}

/**
 * Starts an environment's VMM: the image and driver are resolved, the components prepared in
 * order (torn down in reverse if one fails), the VMM started with their contributions, and its
 * pid written for the next hearthd to find. Every failure is thrown with its cause; the caller
 * turns it into `failed`.
 */
export async function launch(
  deps: LauncherDeps,
  record: EnvironmentRecord,
  ctxFor: (driver: VmmDriver) => ComponentContext,
): Promise<Launched> {
  const { spec } = record;
  const image = await deps.images.get(spec.image);
  if (!image) throw new Error(`its image ${spec.image} is no longer installed; reinstall it`);
  const driver = await deps.vmms.forNewVm(deps.settings());
  const ctx = ctxFor(driver);
  const parts = await prepareAll(deps.components, ctx);
  deps.crashPoint('launch:after-prepare');
  // A VMM that truncates the console when it creates the VM writes this boot from offset 0.
  const consoleOffset = driver.capabilities.truncatesConsole ? 0 : await regularFileSize(ctx.layout.console);
  const vmmLogOffset = await regularFileSize(ctx.layout.vmmLog);
  let vm: LaunchedVm;
  const launchedSpec = vmSpec(record, ctx, parts, image);
  try {
    vm = await driver.launch(launchedSpec);
  } catch (error) {
    const said = await lastWords(ctx.layout.vmmLog, vmmLogOffset);
    await teardownAll(deps.components, ctx);
    throw new Error(`${driver.kind} failed to start: ${messageOf(error)}${said ? ` (${said})` : ''}`);
  }
  try {
    const runtime: Runtime = {
      kind: driver.kind,
      binary: driver.binary,
      version: driver.version,
      accel: driver.accel,
      pid: vm.process.pid,
      startTime: vm.process.startTime,
      consoleOffset,
      vmmLogOffset,
    };
    await writeFile(ctx.layout.pidFile, `${JSON.stringify({ pid: runtime.pid, startTime: runtime.startTime })}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
    return {
      driver,
      vm,
      vmSpec: launchedSpec,
      runtime,
      readyMarker: image.manifest.readyMarker,
      provisioning: image.manifest.provisioning,
    };
  } catch (error) {
    // Started but not recorded: it must not run on unseen, outside admission.
    await killProcess(vm.process.pid);
    await teardownAll(deps.components, ctx);
    throw error;
  }
}

/** The VM as the driver needs it; every path is hearthd's own, from its components. */
export function vmSpec(
  record: EnvironmentRecord,
  ctx: ComponentContext,
  parts: SpecContribution,
  image?: Pick<Image, 'kernel' | 'initrd' | 'manifest'>,
): VmSpec {
  const { spec } = record;
  return {
    id: spec.id,
    cpus: spec.resources.cpus,
    memoryMiB: spec.resources.memoryMiB,
    boot: bootOf(image),
    // Reattaching knows no contributions: the disk still names the VM (drivers' `owns`).
    devices: parts.devices ?? [{ kind: 'disk', path: ctx.layout.disk }],
    stateDir: ctx.layout.stateDir,
    consoleFile: parts.consoleFile ?? ctx.layout.console,
    vmmLogFile: ctx.layout.vmmLog,
    runtimeDir: parts.runtimeDir ?? ctx.layout.runtimeDir,
    ...(ctx.vmmUser && { uid: ctx.vmmUser.uid, gid: ctx.vmmUser.gid }),
  };
}

/** Reattaching needs no image (the VMM has its files open already): it boots nothing. */
function bootOf(image: Pick<Image, 'kernel' | 'initrd' | 'manifest'> | undefined): VmSpec['boot'] {
  if (image?.manifest.bootMode === 'firmware') return { mode: 'firmware' };
  return {
    mode: 'kernel',
    kernel: image?.kernel ?? '',
    initrd: image?.initrd ?? null,
    cmdline: image?.manifest.cmdline ?? '',
  };
}

/** The last line the VMM wrote to its own log since `offset`, if any (bounded, never a link). */
export async function lastWords(file: string, offset: number): Promise<string | undefined> {
  const tail = await readTail(file, LAST_WORDS_BYTES).catch(() => undefined);
  if (!tail) return undefined;
  const sinceStart = Math.max(0, offset - (tail.size - Buffer.byteLength(tail.text)));
  const text = Buffer.from(tail.text).subarray(sinceStart).toString('utf8').trim();
  const last = text.split('\n').at(-1)?.trim();
  return last ? last.slice(0, 300) : undefined;
}
