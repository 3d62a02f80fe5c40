/**
 * `npm run bench:vm`: what hearthd costs on top of the VMM.
 *
 *  1. create→running through the API (ready marker seen) and stop→stopped, for N environments,
 *     against launching the same guest with bare qemu-system-x86_64 in the same run, interleaved
 *     (A/B, alternating which goes first); the ratio of medians. The bare side is started the way
 *     hearthd starts QEMU: the same command line (QemuDriver.args), the same fds from a Handoff,
 *     the same launchDetached, as the same VMM user (`nobody`), from the installed image's files;
 *     only its overlay disk is made beforehand.
 *  2. Per-environment disk creation (qcow2 overlay) against a full copy of the base, for the
 *     test guest's base and for a fully allocated 256 MiB base.
 *  3. hearthd's RSS idle and with 10 environments running; and the figure issue 14 sets a bound on
 *     (80 MiB): the summed RSS of hearthd and every process it keeps (its descendants, VMMs and
 *     dnsmasq and theirs excluded), 10 s after one create/start/stop/delete cycle and one
 *     `GET /v1/host`, printed as `hearthd idle RSS MiB: <number>`.
 *
 * hearthd is the bundle, started by the tests' HearthdProcess: as root that is the installed
 * unit's profile (its capability bounding set, no new privileges, UMask 0077) with VMMs as
 * `nobody`, on a temporary socket, QEMU TCG. Cleans up after itself. The last line is exactly
 * `create-to-running ratio vs bare qemu: <number>`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { HearthdClient } from '#protocol/client';
import { createOverlay } from '../helper/src/environments/disks.js';
import { lookupUser, type VmmUser } from '../helper/src/system/passwd.js';
import { ImageStore, type Image } from '../helper/src/images/image-store.js';
import { Handoff } from '../helper/src/vmm/handoff.js';
import { launchDetached } from '../helper/src/system/process.js';
import { QmpClient } from '../helper/src/vmm/qemu/qmp-client.js';
import { QemuDriver, QMP_SOCKET } from '../helper/src/vmm/qemu/qemu-driver.js';
import {
  installTestImage,
  processesMentioning,
  processUid,
  TEST_IMAGE,
  waitForState,
} from '../helper/test/support/environments.js';
import { HearthdProcess, makePaths, type HearthdPaths } from '../helper/test/support/hearthd-process.js';

const run = promisify(execFile);
const N = Number(process.env.BENCH_N ?? 7);
const FULL_LOAD = Number(process.env.BENCH_MAX ?? 10);
const QEMU = '/usr/bin/qemu-system-x86_64';
const QEMU_IMG = '/usr/bin/qemu-img';
/** hearthd's VMM user when it runs as root (HearthdProcess); the bare QEMU runs as it too. */
const VMM_USER = 'nobody';
const CLASS = { cpus: 1, memoryMiB: 128, diskGiB: 1 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const fmt = (ms: number) => `${ms.toFixed(0)} ms`;

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) / 1024;
}

/** Not hearthd's own cost: the VMs' and the guests' DHCP and DNS (issue 14 leaves them out). */
const NOT_COUNTED = ['qemu-system-x86', 'cloud-hypervisor', 'dnsmasq'];
/** /proc/<pid>/stat gives a name cut to 15 characters. */
const counted = (comm: string) => !NOT_COUNTED.some((name) => name.slice(0, 15) === comm);

/** hearthd and every process below it, except NOT_COUNTED ones and theirs: [pid, comm] each. */
async function keptProcesses(root: number): Promise<Array<[number, string]>> {
  const children = new Map<number, Array<[number, string]>>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) continue;
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), [Number(entry), comm]]);
  }
  const kept: Array<[number, string]> = [[root, 'hearthd']];
  for (let i = 0; i < kept.length; i++)
    for (const child of children.get(kept[i]![0]) ?? []) if (counted(child[1])) kept.push(child);
  return kept;
}

/** Resolves once `file` holds `marker` (re-read every 5 ms); rejects after `timeoutMs`. */
async function markerSeen(file: string, marker: string, exited: Promise<unknown>, timeoutMs = 60_000) {
  const vmm = { gone: false };
  void exited.then(() => (vmm.gone = true));
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text.includes(marker)) return;
    if (vmm.gone) throw new Error(`bare QEMU exited before its ready marker; console:\n${text.slice(-2000)}`);
    if (performance.now() > deadline) throw new Error(`bare QEMU: no ready marker within ${timeoutMs} ms`);
    await sleep(5);
  }
}

interface Bare {
  ready: number;
  stopped: number;
}

/**
 * The same guest, started as hearthd starts it: QemuDriver's command line, its fds from a
 * Handoff (root's overlay, console and QMP listener, opened by root), launchDetached as the VMM
 * user. Timed from the Handoff to the marker on the console, and from the power button to exit.
 */
async function bareQemu(dir: string, image: Image, marker: string, user: VmmUser, i: number): Promise<Bare> {
  const runtimeDir = join(dir, `bare-${i}`);
  await rm(runtimeDir, { recursive: true, force: true });
  await mkdir(runtimeDir, { mode: 0o700 });
  const disk = join(runtimeDir, 'disk.qcow2');
  await createOverlay(QEMU_IMG, image.disk, disk, CLASS.diskGiB);
  await chmod(disk, 0o600);
  const spec = {
    id: `bare-${i}`,
    cpus: CLASS.cpus,
    memoryMiB: CLASS.memoryMiB,
    boot: { mode: 'kernel' as const, kernel: image.kernel!, initrd: image.initrd, cmdline: image.manifest.cmdline },
    devices: [{ kind: 'disk' as const, path: disk }],
    stateDir: runtimeDir,
    consoleFile: join(runtimeDir, 'console.log'),
    vmmLogFile: join(runtimeDir, 'vmm.log'),
    runtimeDir,
    uid: user.uid,
    gid: user.gid,
  };

  const started = performance.now();
  const handoff = new Handoff();
  let vmm;
  try {
    const fds = {
      qmp: await handoff.listen(join(runtimeDir, QMP_SOCKET)),
      console: await handoff.file(spec.consoleFile, 'append'),
      disk: await handoff.file(disk, 'read-write'),
      diskReadOnly: await handoff.file(disk, 'read'),
    };
    vmm = await launchDetached(QEMU, new QemuDriver(QEMU, '', 'tcg').args(spec, fds), {
      outputFile: spec.vmmLogFile,
      fds: handoff.fds,
      uid: spec.uid,
      gid: spec.gid,
    });
  } finally {
    await handoff.close();
  }
  const state = { exited: false };
  void vmm.exited.then(() => (state.exited = true));
  try {
    await markerSeen(spec.consoleFile, marker, vmm.exited);
    const ready = performance.now() - started;
    if ((await processUid(vmm.pid)) !== user.uid) throw new Error(`bare QEMU does not run as ${user.name}`);

    const qmp = await QmpClient.connect(join(runtimeDir, QMP_SOCKET), 2_000);
    const stopAt = performance.now();
    await qmp.execute('system_powerdown');
    const exit = await Promise.race([vmm.exited, sleep(30_000).then(() => undefined)]);
    if (!exit) throw new Error('bare QEMU did not power off within 30 s');
    const stopped = performance.now() - stopAt;
    qmp.close();
    return { ready, stopped };
  } catch (error) {
    const said = await readFile(spec.vmmLogFile, 'utf8').catch(() => '');
    throw new Error(`${String(error)}${said ? `\nvmm.log: ${said.trim()}` : ''}`);
  } finally {
    if (!state.exited) process.kill(vmm.pid, 'SIGKILL');
    await rm(runtimeDir, { recursive: true, force: true });
  }
}

interface Api {
  ready: number;
  stopped: number;
  /** From hearthd's events log: ms after the create request each of its stages ended. */
  stages: string;
}

/** ms after `t0` of each event in the environment's events log, as `event +N`. */
async function stagesOf(client: HearthdClient, id: string, t0: number): Promise<string> {
  const { lines } = await client.call('getEnvironmentLogs', { params: { id }, query: { source: 'events' } });
  return lines
    .map((line) => JSON.parse(line) as { time: string; event: string })
    .map((e) => `${e.event} +${Date.parse(e.time) - t0}`)
    .join(', ');
}

/** One environment through the API: create→running (its readyAt) and stop→stopped (its stoppedAt). */
async function apiRun(client: HearthdClient, i: number): Promise<Api> {
  const t0 = Date.now();
  const env = await client.call('createEnvironment', { body: { name: `bench-${i}`, class: 'tiny' } });
  const running = await waitForState(client, env.id, 'running');
  const t1 = Date.now();
  await client.call('stopEnvironment', { params: { id: env.id } });
  const stopped = await waitForState(client, env.id, ['stopped', 'failed']);
  if (stopped.state !== 'stopped') throw new Error(`${env.id} ${stopped.state}: ${stopped.reason ?? ''}`);
  const stages = await stagesOf(client, env.id, t0);
  await client.call('deleteEnvironment', { params: { id: env.id } });
  return { ready: Date.parse(running.readyAt!) - t0, stopped: Date.parse(stopped.stoppedAt!) - t1, stages };
}

async function diskFigures(dir: string, label: string, base: string) {
  const overlay: number[] = [];
  const copy: number[] = [];
  for (let i = 0; i < 5; i++) {
    const o = join(dir, `overlay-${i}.qcow2`);
    let t = performance.now();
    await createOverlay(QEMU_IMG, base, o, 20);
    overlay.push(performance.now() - t);
    const c = join(dir, `copy-${i}.qcow2`);
    t = performance.now();
    await copyFile(base, c);
    const handle = await open(c, 'r+');
    await handle.sync();
    await handle.close();
    copy.push(performance.now() - t);
    await rm(o);
    await rm(c);
  }
  const size = (await stat(base)).size / 1024 / 1024;
  return { label, size, overlay: median(overlay), copy: median(copy) };
}

/** VMMs outlive hearthd by design: end any this run left (hearthd's and the bare ones). */
async function killLeftovers(paths: HearthdPaths): Promise<void> {
  for (const row of await processesMentioning(`${paths.dir}/`)) {
    try {
      process.kill(row.pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }
}

async function main() {
  const user = await lookupUser(VMM_USER);
  if (!user) throw new Error(`there is no user ${VMM_USER}`);
  if (process.getuid?.() !== 0) throw new Error('run the benchmark as root: hearthd runs as root, its VMMs as nobody');
  const paths = await makePaths('hearth-bench-');
  let daemon: HearthdProcess | undefined;
  let client: HearthdClient | undefined;
  try {
    const { readyMarker } = await installTestImage(paths);
    const image = await new ImageStore(join(paths.stateDir, 'images')).get(TEST_IMAGE);
    if (!image) throw new Error(`${TEST_IMAGE} was not installed`);
    daemon = await HearthdProcess.start(paths, ['--hypervisor', 'qemu', '--accel', 'tcg', '--log-level', 'warn']);
    const pid = daemon.child.pid!;
    client = daemon.client();
    await client.call('updateConfig', { body: { minimumMemoryMiB: 64, maxEnvironments: FULL_LOAD } });
    await client.call('putClass', { params: { name: 'tiny' }, body: CLASS });

    await sleep(2_000);
    const idleRss = await rssMiB(pid);

    // 1. create→running and stop, interleaved with bare QEMU. One warm-up of each first, so
    //    caches (page cache, QEMU's first start, hearthd's first launch) favour neither side.
    const bare = { ready: [] as number[], stopped: [] as number[] };
    const api = { ready: [] as number[], stopped: [] as number[] };
    await bareQemu(paths.dir, image, readyMarker, user, -1);
    await apiRun(client, -1);
    // The warm-up was one create/start/stop/delete cycle: now one report, then 10 s of idling.
    await client.call('getHost');
    await sleep(10_000);
    const kept = await keptProcesses(pid);
    const keptRss = await Promise.all(kept.map(([p]) => rssMiB(p).catch(() => 0)));
    const cycledRss = keptRss.reduce((a, b) => a + b, 0);
    console.log(
      `VM benchmark (QEMU TCG, 1 vCPU / 128 MiB test guest, hearthd as the unit runs it, VMMs as ${VMM_USER}, ${N} runs each, medians)`,
    );
    for (let i = 0; i < N; i++) {
      const bareFirst = i % 2 === 0;
      let b: Bare | undefined;
      let a: Api | undefined;
      for (const side of bareFirst ? ['bare', 'api'] : ['api', 'bare'])
        if (side === 'bare') b = await bareQemu(paths.dir, image, readyMarker, user, i);
        else a = await apiRun(client, i);
      bare.ready.push(b!.ready);
      bare.stopped.push(b!.stopped);
      api.ready.push(a!.ready);
      api.stopped.push(a!.stopped);
      console.log(
        `  run ${i + 1} (${bareFirst ? 'bare first' : 'hearthd first'}): bare ready ${fmt(b!.ready)}, stop ${fmt(b!.stopped)}; hearthd running ${fmt(a!.ready)}, stopped ${fmt(a!.stopped)}; ratio ${(a!.ready / b!.ready).toFixed(3)}; hearthd events (ms after create): ${a!.stages}`,
      );
    }

    // 2. disk creation: overlay vs full copy
    const bigRaw = join(paths.dir, 'big.raw');
    await writeFile(bigRaw, randomBytes(256 * 1024 * 1024));
    const bigBase = join(paths.dir, 'big.qcow2');
    await run(QEMU_IMG, ['convert', '-O', 'qcow2', bigRaw, bigBase]);
    await rm(bigRaw);
    const disks = [
      await diskFigures(paths.dir, 'test guest base', image.disk),
      await diskFigures(paths.dir, '256 MiB allocated base', bigBase),
    ];
    await rm(bigBase);

    // 3. RSS with FULL_LOAD environments running
    const t2 = performance.now();
    const many = await Promise.all(
      Array.from({ length: FULL_LOAD }, (_, i) =>
        client!.call('createEnvironment', { body: { name: `load-${i}`, class: 'tiny' } }),
      ),
    );
    await Promise.all(many.map((env) => waitForState(client!, env.id, 'running', 180_000)));
    const loadAll = performance.now() - t2;
    await sleep(1_000);
    const loadedRss = await rssMiB(pid);
    for (const env of many) await client.call('deleteEnvironment', { params: { id: env.id } });

    const ratio = median(api.ready) / median(bare.ready);
    const stopRatio = median(api.stopped) / median(bare.stopped);
    console.log(
      `  bare qemu spawn→ready marker:      ${fmt(median(bare.ready))}  (runs: ${bare.ready.map(fmt).join(', ')})`,
    );
    console.log(
      `  hearthd API create→running:        ${fmt(median(api.ready))}  (runs: ${api.ready.map(fmt).join(', ')})`,
    );
    console.log(
      `  bare qemu powerdown→exit:          ${fmt(median(bare.stopped))}  (runs: ${bare.stopped.map(fmt).join(', ')})`,
    );
    console.log(
      `  hearthd API stop→stopped:          ${fmt(median(api.stopped))}  (ratio ${stopRatio.toFixed(3)}; runs: ${api.stopped.map(fmt).join(', ')})`,
    );
    for (const d of disks)
      console.log(
        `  disk, ${d.label} (${d.size.toFixed(1)} MiB file): overlay ${d.overlay.toFixed(1)} ms, full copy ${d.copy.toFixed(1)} ms, overlay/copy ratio ${(d.overlay / d.copy).toFixed(3)}`,
      );
    console.log(`  hearthd RSS idle:                  ${idleRss.toFixed(1)} MiB`);
    console.log(
      `  hearthd RSS with ${FULL_LOAD} running:      ${loadedRss.toFixed(1)} MiB  (all ${FULL_LOAD} running after ${fmt(loadAll)})`,
    );
    console.log(
      `  hearthd and what it keeps, 10 s after a cycle: ${kept.map(([p, comm], i) => `${comm} (${p}) ${keptRss[i]!.toFixed(1)} MiB`).join(', ')}`,
    );
    console.log(`hearthd idle RSS MiB: ${cycledRss.toFixed(1)}`);
    console.log(`create-to-running ratio vs bare qemu: ${ratio.toFixed(3)}`);
  } catch (error) {
    if (daemon) process.stderr.write(`hearthd said:\n${daemon.output.join('\n')}\n`);
    throw error;
  } finally {
    await client?.close().catch(() => undefined);
    await daemon?.stop();
    await killLeftovers(paths);
    if (daemon) await daemon.dispose();
    else await rm(paths.dir, { recursive: true, force: true });
  }
}

await main();
