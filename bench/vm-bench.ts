/**
 * `npm run bench:vm`: what hearthd costs on top of the VMM.
 *
 *  1. create→running through the API (ready marker seen) and stop→stopped, for N environments,
 *     against launching the same guest with bare qemu-system-x86_64 (same command line, same
 *     kind of overlay disk made beforehand) in the same run, interleaved; the ratio of medians.
 *  2. Per-environment disk creation (qcow2 overlay) against a full copy of the base, for the
 *     test guest's base and for a fully allocated 256 MiB base.
 *  3. hearthd's RSS idle and with 10 environments running.
 *
 * Uses the real bundled hearthd on a temporary socket and QEMU TCG; cleans up after itself. The
 * last line is exactly `create-to-running ratio vs bare qemu: <number>`.
 */
import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { HearthdClient } from '#protocol/client';
import type { HearthEvent } from '#protocol';
import { createOverlay } from '../helper/src/environments/disks.js';
import { QmpClient } from '../helper/src/vmm/qemu/qmp-client.js';
import { Handoff } from '../helper/src/vmm/handoff.js';
import { QemuDriver } from '../helper/src/vmm/qemu/qemu-driver.js';
import { ensureTestGuestBuilt } from '../scripts/test-guest/build-test-guest.js';
import { installTestImage } from '../helper/test/support/environments.js';
import type { HearthdPaths } from '../helper/test/support/hearthd-process.js';

const run = promisify(execFile);
const N = Number(process.env.BENCH_N ?? 7);
const FULL_LOAD = Number(process.env.BENCH_MAX ?? 10);
const QEMU = '/usr/bin/qemu-system-x86_64';
const QEMU_IMG = '/usr/bin/qemu-img';
const BUNDLE = resolve(import.meta.dirname, '..', 'dist', 'helper', 'hearthd.mjs');
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

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 10) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

async function fileContains(path: string, marker: string): Promise<boolean> {
  try {
    return (await readFile(path, 'utf8')).includes(marker);
  } catch {
    return false;
  }
}

/** The same guest, the same QEMU command line hearthd uses, started by hand. */
async function bareQemu(dir: string, guest: Awaited<ReturnType<typeof ensureTestGuestBuilt>>, i: number) {
  const runtimeDir = join(dir, `bare-${i}`);
  await rm(runtimeDir, { recursive: true, force: true });
  await mkdir(runtimeDir, { recursive: true });
  const disk = join(runtimeDir, 'disk.qcow2');
  await createOverlay(QEMU_IMG, guest.baseDisk, disk, 1);
  const consoleFile = join(runtimeDir, 'console.log');
  const handoff = new Handoff();
  const fds = {
    qmp: await handoff.listen(join(runtimeDir, 'qmp.sock')),
    console: await handoff.file(consoleFile, 'append'),
    disk: await handoff.file(disk, 'read-write'),
    diskReadOnly: await handoff.file(disk, 'read'),
  };
  const args = new QemuDriver(QEMU, '', 'tcg').args(
    {
      id: `bare-${i}`,
      cpus: 1,
      memoryMiB: 128,
      kernel: guest.kernel,
      initrd: guest.initrd,
      cmdline: guest.cmdline,
      disk,
      stateDir: runtimeDir,
      consoleFile,
      vmmLogFile: join(runtimeDir, 'vmm.log'),
      runtimeDir,
    },
    fds,
  );
  const started = performance.now();
  const child = spawn(QEMU, args, { stdio: ['ignore', 'ignore', 'ignore', ...handoff.fds], detached: true });
  await handoff.close();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await waitFor('bare QEMU ready marker', () => fileContains(consoleFile, guest.readyMarker), 60_000);
  const ready = performance.now() - started;
  const qmp = await QmpClient.connect(join(runtimeDir, 'qmp.sock'));
  const stopAt = performance.now();
  await qmp.execute('system_powerdown');
  await Promise.race([exited, sleep(30_000).then(() => child.kill('SIGKILL'))]);
  const stopped = performance.now() - stopAt;
  qmp.close();
  await rm(runtimeDir, { recursive: true, force: true });
  return { ready, stopped };
}

async function main() {
  const guest = await ensureTestGuestBuilt({ log: (line) => process.stderr.write(`test guest: ${line}\n`) });
  const dir = await mkdtemp(join(tmpdir(), 'hearth-bench-'));
  await chmod(dir, 0o711);
  const paths: HearthdPaths = {
    dir,
    socket: join(dir, 'hearthd.sock'),
    stateDir: join(dir, 'state'),
    runtimeDir: join(dir, 'run'),
  };
  let daemon: ReturnType<typeof spawn> | undefined;
  const client = new HearthdClient(paths.socket);
  const abort = new AbortController();
  try {
    await installTestImage(paths);
    daemon = spawn(
      process.execPath,
      [
        BUNDLE,
        '--socket',
        paths.socket,
        '--state-dir',
        paths.stateDir,
        '--runtime-dir',
        paths.runtimeDir,
        '--hypervisor',
        'qemu',
        '--accel',
        'tcg',
        '--vmm-user',
        'root',
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    await waitFor(
      'hearthd',
      () =>
        client.call('getVersion').then(
          () => true,
          () => false,
        ),
      15_000,
      50,
    );
    await client.call('updateConfig', { body: { minimumMemoryMiB: 64, maxEnvironments: 10 } });
    await client.call('putClass', { params: { name: 'tiny' }, body: { cpus: 1, memoryMiB: 128, diskGiB: 1 } });

    // Environment events, timestamped on arrival: the API's own notion of "running"/"stopped".
    const seen: Array<{ at: number; event: HearthEvent }> = [];
    void (async () => {
      try {
        for await (const event of client.events(abort.signal)) seen.push({ at: performance.now(), event });
      } catch {
        // Ended.
      }
    })();
    const reached = async (id: string, state: string, after: number, timeoutMs = 60_000) => {
      let at = 0;
      await waitFor(
        `${id} ${state}`,
        () => {
          const hit = seen.find(
            (s) =>
              s.at >= after &&
              s.event.type === 'environment' &&
              s.event.environment.id === id &&
              s.event.environment.state === state,
          );
          if (hit) at = hit.at;
          return hit !== undefined;
        },
        timeoutMs,
        5,
      );
      return at;
    };

    await sleep(2_000);
    const idleRss = await rssMiB(daemon.pid!);

    // 1. create→running and stop, interleaved with bare QEMU
    const bare = { ready: [] as number[], stopped: [] as number[] };
    const api = { ready: [] as number[], stopped: [] as number[] };
    // One warm-up of each so caches (page cache, QEMU's first start) do not favour either side.
    await bareQemu(dir, guest, -1);
    for (let i = 0; i < N; i++) {
      const b = await bareQemu(dir, guest, i);
      bare.ready.push(b.ready);
      bare.stopped.push(b.stopped);

      const t0 = performance.now();
      const env = await client.call('createEnvironment', { body: { name: `bench-${i}`, class: 'tiny' } });
      const readyAt = await reached(env.id, 'running', t0);
      const t1 = performance.now();
      await client.call('stopEnvironment', { params: { id: env.id } });
      const stoppedAt = await reached(env.id, 'stopped', t1);
      await client.call('deleteEnvironment', { params: { id: env.id } });
      api.ready.push(readyAt - t0);
      api.stopped.push(stoppedAt - t1);
    }

    // 2. disk creation: overlay vs full copy
    const diskFigures = async (label: string, base: string) => {
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
    };
    const bigRaw = join(dir, 'big.raw');
    await writeFile(bigRaw, randomBytes(256 * 1024 * 1024));
    const bigBase = join(dir, 'big.qcow2');
    await run(QEMU_IMG, ['convert', '-O', 'qcow2', bigRaw, bigBase]);
    await rm(bigRaw);
    const disks = [
      await diskFigures('test guest base', guest.baseDisk),
      await diskFigures('256 MiB allocated base', bigBase),
    ];

    // 3. RSS with FULL_LOAD environments running
    const t2 = performance.now();
    const many = await Promise.all(
      Array.from({ length: FULL_LOAD }, (_, i) =>
        client.call('createEnvironment', { body: { name: `load-${i}`, class: 'tiny' } }),
      ),
    );
    for (const env of many) await reached(env.id, 'running', t2, 180_000);
    await sleep(1_000);
    const loadedRss = await rssMiB(daemon.pid!);
    const loadAll = performance.now() - t2;
    for (const env of many) await client.call('deleteEnvironment', { params: { id: env.id } });

    const ratio = median(api.ready) / median(bare.ready);
    const stopRatio = median(api.stopped) / median(bare.stopped);
    console.log(`VM benchmark (QEMU TCG, 1 vCPU / 128 MiB test guest, ${N} runs each, medians)`);
    console.log(
      `  bare qemu spawn→ready marker:      ${fmt(median(bare.ready))}  (runs: ${bare.ready.map(fmt).join(', ')})`,
    );
    console.log(
      `  hearthd API create→running:        ${fmt(median(api.ready))}  (runs: ${api.ready.map(fmt).join(', ')})`,
    );
    console.log(`  bare qemu powerdown→exit:          ${fmt(median(bare.stopped))}`);
    console.log(`  hearthd API stop→stopped:          ${fmt(median(api.stopped))}  (ratio ${stopRatio.toFixed(3)})`);
    for (const d of disks)
      console.log(
        `  disk, ${d.label} (${d.size.toFixed(1)} MiB file): overlay ${d.overlay.toFixed(1)} ms, full copy ${d.copy.toFixed(1)} ms, overlay/copy ratio ${(d.overlay / d.copy).toFixed(3)}`,
      );
    console.log(`  hearthd RSS idle:                  ${idleRss.toFixed(1)} MiB`);
    console.log(
      `  hearthd RSS with ${FULL_LOAD} running:      ${loadedRss.toFixed(1)} MiB  (all ${FULL_LOAD} running after ${fmt(loadAll)})`,
    );
    console.log(`create-to-running ratio vs bare qemu: ${ratio.toFixed(3)}`);
  } finally {
    abort.abort();
    await client.close().catch(() => undefined);
    if (daemon?.pid) daemon.kill('SIGTERM');
    await sleep(500);
    // VMMs outlive hearthd by design: end any this run left.
    const { stdout } = await run('pgrep', ['-f', dir]).catch(() => ({ stdout: '' }));
    for (const pid of stdout.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Gone.
      }
    }
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
