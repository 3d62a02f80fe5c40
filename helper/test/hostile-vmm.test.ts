import { chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CH_DOUBLE_PATH } from './support/cloud-hypervisor-double.js';
import { installTestImage, killVmms, processesMentioning, waitForState } from './support/environments.js';
import { HearthdProcess, makePaths, type HearthdPaths } from './support/hearthd-process.js';
import {
  asVmmUser,
  findVmmOwned,
  REFUSED,
  rssMiB,
  startFlood,
  timed,
  VMM_UID,
  type Flood,
  type ProbeResult,
} from './support/hostile-vmm.js';
import { eventually } from './support/eventually.js';

/**
 * A hostile VMM user. After a boot, root finds every path the VMM user owns (`find -xdev -uid`),
 * not a list written by hand; then, as that user, the test plants links and FIFOs at each of
 * them and beside them, opens them up (chmod 0666) and writes without end, reaches into its own
 * VMM's fds to flood the console and vmm.log, and kills its VMM. hearthd must follow none of it,
 * not hang, keep its memory, and keep serving: API, logs, follow, stop, delete, failure reason.
 */

/** Answers while the VMM floods: generous for 2 shared cores, far below a hang. */
const PROMPT_MS = 2_000;
/** Rotation keeps at most this of a part (LOG_MAX_BYTES), plus the line it may start inside. */
const ROTATED_MAX = 2 * 1024 * 1024;
const FLOOD_MIB = 150;

interface Vmm {
  name: string;
  hearthdArgs: string[];
  /** VMM-owned files the design promises in the environment's state dir, by name. */
  ownedInStateDir: string[];
  /** The VMM's control socket in its runtime dir. */
  socket: string;
  bootMs: number;
}

const VMMS: Vmm[] = [
  {
    name: 'QEMU (TCG, real VM)',
    hearthdArgs: ['--hypervisor', 'qemu', '--accel', 'tcg'],
    // QEMU gets disk and console as fds: nothing of it is the VMM user's.
    ownedInStateDir: [],
    socket: 'qmp.sock',
    bootMs: 60_000,
  },
  {
    name: 'Cloud Hypervisor (contract double)',
    hearthdArgs: ['--hypervisor', 'cloud-hypervisor', '--cloud-hypervisor-binary', CH_DOUBLE_PATH],
    // CH opens these by path, as the VMM user (ch-driver.ts, components/disk.ts, console.ts).
    ownedInStateDir: ['cloud-hypervisor.log', 'console.log', 'disk.qcow2'],
    socket: 'api.sock',
    bootMs: 20_000,
  },
];

describe.each(VMMS)('a hostile VMM user against hearthd: $name', (vmm) => {
  let paths: HearthdPaths;
  let daemon: HearthdProcess | undefined;
  /** Files the test itself gives the VMM user (the double's request record, the attacker's scratch dir). */
  let testOwned: string[];
  /** Floods still running when a check fails are ended in afterAll. */
  const floods: Flood[] = [];

  beforeAll(async () => {
    paths = await makePaths('hearthd-hostile-');
    await mkdir(paths.runtimeDir, { mode: 0o750 });
    await installTestImage(paths);
    // The double (a stand-in for CH) records its requests; as the VMM user it needs a file of its
    // own for that, in a directory it cannot write to (so it can plant nothing beside it).
    const record = join(paths.dir, 'ch-record', 'requests.jsonl');
    await mkdir(join(paths.dir, 'ch-record'), { mode: 0o755 });
    await writeFile(record, '', { mode: 0o600 });
    await chown(record, VMM_UID, VMM_UID);
    testOwned = [record];
    process.env.HEARTH_CH_DOUBLE_RECORD = record;
    daemon = await HearthdProcess.start(paths, vmm.hearthdArgs);
    const client = daemon.client();
    await client.call('updateConfig', { body: { minimumMemoryMiB: 64, stopTimeoutSeconds: 10 } });
    await client.call('putClass', { params: { name: 'tiny' }, body: { cpus: 1, memoryMiB: 128, diskGiB: 1 } });
    await client.close();
  }, 180_000);

  afterAll(async () => {
    Reflect.deleteProperty(process.env, 'HEARTH_CH_DOUBLE_RECORD');
    for (const flood of floods) flood.kill();
    await killVmms(paths);
    // QEMU's command line names its disk, not the runtime dir: kill by the test dir too.
    for (const row of await processesMentioning(paths.dir)) process.kill(row.pid, 'SIGKILL');
    await daemon?.dispose();
    await rm(paths.dir, { recursive: true, force: true });
  });

  it('follows no planted link or FIFO, does not hang, keeps serving and its memory, and cleans up', async () => {
    const client = daemon!.client();
    const hearthdPid = daemon!.child.pid!;
    // Outside the test's own directory, only /tmp and /run are searched (with -xdev): they are
    // the world-writable places a VMM could leave something in, and the whole / would take
    // minutes. A snapshot before the boot separates what this VMM made from what was there.
    const elsewhere = async () =>
      (await findVmmOwned(['/tmp', '/run'])).filter(
        // Other sessions' test dirs; and the double's TypeScript compile cache (tsx), which real CH has not.
        (p) => !p.startsWith(paths.dir) && !/^\/tmp\/(hearthd-[^/]+|tsx-65534)(\/|$)/.test(p),
      );
    const before = await elsewhere();

    const created = await client.call('createEnvironment', { body: { name: 'hostile', class: 'tiny' } });
    const id = created.id;
    const envDir = join(paths.stateDir, 'environments', id);
    const runDir = join(paths.runtimeDir, 'vms', id);
    const running = await waitForState(client, id, 'running', vmm.bootMs);
    const vmmPid = running.vmm!.pid!;

    // What the VMM user owns, as found, against what the design promises.
    const owned = (await findVmmOwned([paths.dir])).filter((p) => !testOwned.includes(p));
    console.log(`${vmm.name}: VMM-owned below the test dir: ${JSON.stringify(owned)}`);
    expect(owned).toEqual(vmm.ownedInStateDir.map((name) => join(envDir, name)));
    const made = (await elsewhere()).filter((p) => !before.includes(p));
    console.log(`${vmm.name}: new VMM-owned paths in /tmp and /run: ${JSON.stringify(made)}`);
    expect(made).toEqual([]);

    // ---- plant links and FIFOs, open the files up, write 200 MiB into each -----------------------
    const secret = join(paths.dir, 'secret');
    await writeFile(secret, 'root only\n', { mode: 0o600 });
    // The links point at a root-only file of this test's own (not /etc/shadow: other test files
    // add users meanwhile, and its mtime would say nothing about hearthd).
    const targetBefore = await stat(secret);
    const scratch = join(paths.dir, 'scratch');
    await mkdir(scratch, { mode: 0o700 });
    await chown(scratch, VMM_UID, VMM_UID);
    const roots = [envDir, runDir, paths.stateDir, paths.runtimeDir, join(paths.runtimeDir, 'vms'), paths.dir];
    const probe = await timed(() =>
      asVmmUser<ProbeResult>('probe', {
        paths: owned,
        dirs: roots,
        sockets: [join(runDir, vmm.socket), paths.socket],
        target: secret,
        scratch,
        append_mib: 200,
      }),
    );
    console.log(`${vmm.name}: attacks as uid ${probe.value.uid} (${probe.ms} ms): ${JSON.stringify(probe.value)}`);
    expect(probe.value.uid).toBe(VMM_UID);
    for (const path of owned) {
      const { 'chmod-0666': chmod, append, ...plants } = probe.value.paths[path]!;
      for (const [attack, outcome] of Object.entries(plants))
        expect(`${attack}: ${outcome}`).toMatch(/: (EACCES|EPERM)$/);
      // Its own files it may open up and fill: what root does with them is what is tested.
      expect([chmod, append]).toEqual(['ok', 'ok']);
    }
    for (const dir of roots) {
      const { create, symlink, fifo } = probe.value.dirs[dir]!;
      for (const outcome of [create, symlink, fifo]) expect(REFUSED).toContain(outcome);
    }
    for (const outcome of Object.values(probe.value.sockets)) expect(REFUSED).toContain(outcome);

    // ---- flood: its VMM's own console and vmm.log fds, sparse to 1 TiB, then without end --------
    const follow = new AbortController();
    const followed: string[] = [];
    let followEnded = false;
    const stream = client.follow('getEnvironmentLogs', { params: { id }, query: { tail: 1 } }, follow.signal);
    const following = (async () => {
      try {
        for await (const message of stream) followed.push(...message.lines);
        followEnded = true;
      } catch (error) {
        if (!follow.signal.aborted) throw error;
      }
    })();
    const rssBefore = await rssMiB(hearthdPid);
    const flood = await startFlood({
      pid: vmmPid,
      fds_to: ['console.log', 'vmm.log'],
      paths: owned.filter((p) => p.endsWith('cloud-hypervisor.log')),
      max_mib: FLOOD_MIB,
      sparse: true,
    });
    floods.push(flood);
    expect(flood.started).toEqual(expect.arrayContaining(['console.log', 'vmm.log']));
    const slowest: Record<string, number> = {};
    const note = (what: string, ms: number) => (slowest[what] = Math.max(slowest[what] ?? 0, ms));
    // Long enough for hearthd's size caps (every 5 s) to meet the flood at least once.
    for (const until = Date.now() + 7_000; Date.now() < until;) {
      note('getVersion', (await timed(() => client.call('getVersion'))).ms);
      note('listEnvironments', (await timed(() => client.call('listEnvironments'))).ms);
      const logs = await timed(() => client.call('getEnvironmentLogs', { params: { id }, query: { tail: 50 } }));
      note('logs?tail=50', logs.ms);
      expect(JSON.stringify(logs.value).length).toBeLessThan(1024 * 1024);
      await new Promise((r) => setTimeout(r, 200));
    }
    console.log(`${vmm.name}: slowest answers during the flood (ms): ${JSON.stringify(slowest)}`);
    for (const ms of Object.values(slowest)) expect(ms).toBeLessThan(PROMPT_MS);
    for (const rotated of ['console.log.1', 'vmm.log.1'])
      expect((await stat(join(envDir, rotated))).size).toBeLessThanOrEqual(ROTATED_MAX);

    // Stop still works while its files are flooded; then the flood's last line reaches the follow.
    await client.call('stopEnvironment', { params: { id } });
    await waitForState(client, id, 'stopped', 30_000);
    const flooded = await flood.stop();
    console.log(`${vmm.name}: flood: ${JSON.stringify(flooded)}`);
    expect(flooded.uid).toBe(VMM_UID);
    // Root's 0600 console (QEMU) cannot be reopened through /proc/<pid>/fd; the VMM's own fds write it.
    if (vmm.ownedInStateDir.length === 0) expect(flooded.reopened['console.log']).toBe('EACCES');
    await eventually(() => followed.some((l) => l.endsWith('HOSTILE-END')), {
      what: "the flood's last line in the follow",
      timeoutMs: 10_000,
    });
    expect(Math.max(...followed.map((l) => l.length))).toBeLessThanOrEqual(16 * 1024 + 1);

    // ---- killed by its own user while vmm.log grows without end: a reason, promptly ------------
    await client.call('startEnvironment', { params: { id } });
    const again = await waitForState(client, id, 'running', vmm.bootMs);
    const endless = await startFlood({
      pid: again.vmm!.pid!,
      fds_to: ['vmm.log'],
      paths: [],
      max_mib: 400,
      sparse: true,
    });
    floods.push(endless);
    await new Promise((r) => setTimeout(r, 500));
    expect(await asVmmUser('kill', { pid: again.vmm!.pid! })).toMatchObject({ kill: 'ok' });
    const failed = await timed(() => waitForState(client, id, 'failed', 10_000));
    await endless.stop();
    console.log(`${vmm.name}: failed ${failed.ms} ms after the kill: ${failed.value.reason}`);
    expect(failed.value.reason).toContain('SIGKILL');
    expect(failed.value.reason!.length).toBeLessThan(1_000);

    const rssAfter = await rssMiB(hearthdPid);
    console.log(
      `${vmm.name}: hearthd RSS ${rssBefore.toFixed(0)} MiB before the floods, ${rssAfter.toFixed(0)} MiB after`,
    );
    expect(rssAfter - rssBefore).toBeLessThan(200);

    // ---- delete: the follow ends, nothing is left, nothing outside was touched -----------------
    await client.call('deleteEnvironment', { params: { id } });
    await following;
    expect(followEnded).toBe(true);
    await expect(stat(envDir)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(runDir)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await processesMentioning(id)).toEqual([]);
    expect((await findVmmOwned([paths.dir])).filter((p) => !testOwned.includes(p) && !p.startsWith(scratch))).toEqual(
      [],
    );
    expect((await elsewhere()).filter((p) => !before.includes(p))).toEqual([]);
    const targetAfter = await stat(secret);
    expect([targetAfter.mtimeMs, targetAfter.nlink]).toEqual([targetBefore.mtimeMs, targetBefore.nlink]);
    expect(await readFile(secret, 'utf8')).toBe('root only\n');
    await client.close();
  }, 240_000);
});
