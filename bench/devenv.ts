/**
 * `npm run bench:devenv`: where the time goes for a real Debian environment here (QEMU TCG).
 *
 *  1. The local image build (`hearthd build-image`, as root outside the sandbox, as deployed):
 *     cold (an empty cache; skipped with BENCH_SKIP_COLD=1) and cached (import only).
 *  2. create → VMM started → kernel → running (the agent finds the guest usable) → SSH answers,
 *     and when cloud-init's last stage ended, through a real
 *     hearthd run as the unit runs it inside a network namespace of this bench's own, with an SSH
 *     key and strict host-key checking.
 *  3. The baseline: bare QEMU with the same command line (QemuDriver.args, the same fds from a
 *     Handoff, as the same VMM user), a fresh overlay of the same base, the same seed disk and the
 *     same TAP (set up by hearthd's own network code), until SSH answers.
 *
 * The machines are noisy: compare the ratio, measured in one run, not the seconds. BENCH_N runs
 * each side N times, alternating which goes first (default 1: a Debian boot under TCG takes
 * minutes). Then (unless BENCH_SKIP_REPO=1) a repository environment: create → cloned → SSH, split
 * into boot, cloud-init, clone and agent-ready (bench/devenv/repository-run.ts). BENCH_GUEST_ACCOUNT=1 also prints, after each hearthd run's measurement, where the
 * guest's own boot went (systemd-analyze, cloud-init analyze). The last line is exactly
 * `create-to-ssh ratio vs bare qemu: <number>`.
 */
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { EnvironmentLogEntry } from '#protocol';
import type { HearthdClient } from '#protocol/client';
import { createOverlay } from '../helper/src/environments/disks.js';
import type { ComponentStates, Spec } from '../helper/src/environments/record.js';
import type { HarnessSpec } from '../helper/test/network/support/network-process.js';
import { lookupUser } from '../helper/src/system/passwd.js';
import { ImageStore } from '../helper/src/images/image-store.js';
import { QemuDriver } from '../helper/src/vmm/qemu/qemu-driver.js';
import { NetworkProcess } from '../helper/test/network/support/network-process.js';
import { Namespaces } from '../helper/test/network/support/topology.js';
import { DEBIAN_IMAGE_CACHE, runBuildImage } from '../helper/test/support/debian-image.js';
import { killVmms, waitForState } from '../helper/test/support/environments.js';
import { HearthdProcess, makePaths } from '../helper/test/support/hearthd-process.js';
import { useTunLikeDistributions } from '../helper/test/support/tun.js';
import { asUnit, unitProfile } from '../helper/test/support/unit-profile.js';
import { repositoryRun } from './devenv/repository-run.js';

const N = Number(process.env.BENCH_N ?? 1);
const QEMU = '/usr/bin/qemu-system-x86_64';
const QEMU_IMG = '/usr/bin/qemu-img';
const CLASS = { cpus: 1, memoryMiB: 1024, diskGiB: 4 };
const IMAGE = 'debian-12-local';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Keys {
  key: string;
  publicKey: string;
}

async function makeKey(dir: string): Promise<Keys> {
  const key = join(dir, 'id_ed25519');
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bench', '-f', key]);
  return { key, publicKey: (await readFile(`${key}.pub`, 'utf8')).trim() };
}

interface Guest {
  ns: string;
  keys: Keys;
  address: string;
  alias: string;
  knownHosts: string;
}

/** `ssh dev@address command` with strict checking against the host keys hearthd reported. */
function sshRun(guest: Guest, command: string, timeoutMs = 15_000) {
  return execa(
    'ip',
    [
      ...['netns', 'exec', guest.ns, 'ssh', '-i', guest.keys.key, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=2'],
      ...['-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${guest.knownHosts}`],
      ...['-o', `HostKeyAlias=${guest.alias}`, `dev@${guest.address}`, command],
    ],
    { reject: false, timeout: timeoutMs },
  );
}

/** Polls until `ssh dev@address true` succeeds. */
async function sshAnswers(guest: Guest): Promise<number> {
  for (;;) {
    if ((await sshRun(guest, 'true')).exitCode === 0) return performance.now();
    await sleep(250);
  }
}

/** Where the guest's own time went, from inside (after the measurement: these cost CPU under TCG). */
async function guestAccount(guest: Guest): Promise<void> {
  const asked = await sshRun(
    guest,
    'systemd-analyze time; systemd-analyze critical-chain cloud-final.service ssh.service; ' +
      'systemd-analyze blame | head -12; sudo cloud-init analyze blame | head -12',
    300_000,
  );
  const lines = asked.stdout.split('\n').filter((l) => l.trim() !== '');
  console.log('  inside the guest:');
  for (const line of lines) console.log(`    ${line}`);
}

async function imageBuilds(): Promise<void> {
  const state = await mkdtemp(join(tmpdir(), 'bench-build-'));
  try {
    if (process.env.BENCH_SKIP_COLD !== '1') {
      const cache = await mkdtemp(join('/var/cache', 'hearth-bench-'));
      try {
        const cold = await runBuildImage(['--state-dir', state, '--cache-dir', cache, '--name', 'cold']);
        if (cold.exitCode !== 0) throw new Error(`cold build failed: ${cold.lines.slice(-5).join('\n')}`);
        console.log(`image build, cold:   ${cold.seconds.toFixed(1)} s`);
      } finally {
        await rm(cache, { recursive: true, force: true });
      }
    } else console.log('image build, cold:   skipped (BENCH_SKIP_COLD=1)');
    const cached = await runBuildImage(['--state-dir', state, '--cache-dir', DEBIAN_IMAGE_CACHE, '--name', IMAGE]);
    if (cached.exitCode !== 0) throw new Error(`cached build failed: ${cached.lines.slice(-5).join('\n')}`);
    console.log(`image build, cached: ${cached.seconds.toFixed(1)} s (import only)`);
  } finally {
    await rm(state, { recursive: true, force: true });
  }
}

interface HearthdRun {
  total: number;
  phases: Record<string, number>;
  /** When cloud-init's last stage ended, counted from `running` (negative: before it). */
  cloudInitDone: string;
  /** What the baseline reuses: the environment's spec and a copy of its seed. */
  spec: HarnessSpec;
  seed: string;
  knownHosts: string;
}

async function hearthdRun(
  client: HearthdClient,
  stateDir: string,
  ns: string,
  keys: Keys,
  dir: string,
  i: number,
): Promise<HearthdRun> {
  const name = `bench${i}`;
  const t0 = performance.now();
  const wall0 = Date.now();
  const created = await client.call('createEnvironment', {
    body: { name, class: 'bench', image: IMAGE, sshPublicKey: keys.publicKey },
  });
  let kernel: number | undefined;
  const watch = (async () => {
    while (kernel === undefined) {
      const lines = (await client.call('getEnvironmentLogs', { params: { id: name }, query: { tail: 2000 } })).lines;
      if (lines.some((l) => l.includes('Linux version'))) kernel = performance.now();
      else await sleep(200);
    }
  })();
  const running = await waitForState(client, name, 'running', 30 * 60_000);
  const usable = performance.now();
  const wallUsable = Date.now();
  await watch;
  const knownHosts = join(dir, `known_hosts-${i}`);
  const alias = running.ssh!.hostKeyAlias;
  await execa('sh', ['-c', `cat > ${knownHosts}`], {
    input: running.ssh!.hostKeys.map((k) => `${alias} ${k.publicKey}\n`).join(''),
  });
  const guest = { ns, keys, address: running.network!.address, alias, knownHosts };
  const ssh = await sshAnswers(guest);
  if (process.env.BENCH_GUEST_ACCOUNT === '1') await guestAccount(guest);
  const events = (
    await client.call('getEnvironmentLogs', { params: { id: name }, query: { source: 'events', tail: 500 } })
  ).lines.map((l) => JSON.parse(l) as EnvironmentLogEntry);
  const launched = events.find((e) => e.event === 'vmm-launched');
  const vmm = launched ? Date.parse(launched.time) - wall0 : NaN;
  // `running` comes when the agent finds the guest usable; cloud-init's last stage may end later.
  const done = events.find((e) => e.event === 'provisioning' && e.message.startsWith('cloud-init done'));
  const afterRunning = done ? s(Date.parse(done.time) - wallUsable) : 'not before SSH answered';
  const envDir = join(stateDir, 'environments', created.id);
  const record = JSON.parse(await readFile(join(envDir, 'environment.json'), 'utf8')) as {
    spec: Spec;
    components: ComponentStates;
  };
  const seed = join(dir, `seed-${i}.img`);
  await copyFile(join(envDir, 'seed.img'), seed);
  await client.call('deleteEnvironment', { params: { id: name } });
  return {
    total: ssh - t0,
    phases: {
      'create → VMM started': vmm,
      'VMM started → kernel': kernel! - t0 - vmm,
      'kernel → running (usable)': usable - kernel!,
      'running → SSH answers': ssh - usable,
    },
    cloudInitDone: afterRunning,
    spec: { ...record.spec, ...(record.components.network && { network: record.components.network }) },
    seed,
    knownHosts,
  };
}

/** Bare QEMU, the way hearthd starts it, on hearthd's own network pieces; QEMU start → SSH. */
async function bareRun(
  stateDir: string,
  ns: string,
  keys: Keys,
  from: HearthdRun,
  dir: string,
  i: number,
): Promise<number> {
  const image = (await new ImageStore(join(stateDir, 'images')).get(IMAGE))!;
  const user = await lookupUser('nobody');
  const runtimeDir = join(dir, `bare-${i}`);
  await mkdir(runtimeDir, { mode: 0o700 });
  const net = NetworkProcess.start(ns, join(dir, 'bare-run'), join(dir, 'bare-state'));
  try {
    await net.open();
    const { network } = await net.prepare(from.spec);
    const disk = join(runtimeDir, 'disk.qcow2');
    await createOverlay(QEMU_IMG, image.disk, disk, CLASS.diskGiB);
    const spec = {
      id: from.spec.id,
      cpus: CLASS.cpus,
      memoryMiB: CLASS.memoryMiB,
      boot: { mode: 'kernel' as const, kernel: image.kernel!, initrd: image.initrd, cmdline: image.manifest.cmdline },
      devices: [
        { kind: 'disk' as const, path: disk },
        { kind: 'seed' as const, path: from.seed },
        { kind: 'nic' as const, ...network! },
        { kind: 'guest-channel' as const },
      ],
      stateDir: runtimeDir,
      consoleFile: join(runtimeDir, 'console.log'),
      vmmLogFile: join(runtimeDir, 'vmm.log'),
      runtimeDir,
      uid: user!.uid,
      gid: user!.gid,
    };
    const t0 = performance.now();
    const driver = new QemuDriver(QEMU, '', 'tcg');
    const vm = await driver.launch(spec).catch(async (error: unknown) => {
      const said = await readFile(spec.vmmLogFile, 'utf8').catch(() => '');
      throw new Error(`bare QEMU did not start: ${String(error)}\n${said.slice(-2000)}`);
    });
    try {
      const address = `10.131.0.${from.spec.network!.host}`;
      const answered = await sshAnswers({
        ns,
        keys,
        address,
        alias: `hearth-${from.spec.id}`,
        knownHosts: from.knownHosts,
      });
      return answered - t0;
    } finally {
      await vm.handle.terminate().catch(() => process.kill(vm.process.pid, 'SIGKILL'));
      vm.handle.detach();
    }
  } finally {
    await net.teardown(from.spec).catch(() => undefined);
    await net.exit().catch(() => net.kill());
  }
}

/** Set in the copy of this bench that runs inside its network namespace (see main). */
const INSIDE = process.env.HEARTH_BENCH_NETNS;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:devenv needs root (namespaces, TAPs, the VMM user)');
  if (INSIDE === undefined) {
    // Everything that touches the network (hearthd, the bare QEMU and its TAP, ssh) runs in a
    // namespace of the bench's own: the bench runs itself again in there.
    const restoreTun = await useTunLikeDistributions();
    const nss = new Namespaces();
    try {
      await imageBuilds();
      const ns = await nss.add('bench');
      await execa('ip', ['netns', 'exec', ns, process.execPath, ...process.execArgv, process.argv[1]!], {
        stdio: 'inherit',
        env: { ...process.env, HEARTH_BENCH_NETNS: ns },
      });
    } finally {
      await nss.destroy();
      await restoreTun();
    }
    return;
  }
  const ns = INSIDE;
  const paths = await makePaths('bench-devenv-');
  // Beside hearthd's paths, not in them: a hearthd that is stopped takes its directory with it.
  const dir = await mkdtemp(join(tmpdir(), 'bench-devenv-work-'));
  // dnsmasq, once it has dropped root, re-reads its reservations below here (as in /run/hearth).
  await chmod(dir, 0o711);
  let daemon: HearthdProcess | undefined;
  try {
    const built = await runBuildImage([
      '--state-dir',
      paths.stateDir,
      '--cache-dir',
      DEBIAN_IMAGE_CACHE,
      '--name',
      IMAGE,
    ]);
    if (built.exitCode !== 0) throw new Error('could not install the Debian image');
    const keys = await makeKey(dir);
    const launcher = ['ip', 'netns', 'exec', ns, ...asUnit(unitProfile())];
    const hearthd: number[] = [];
    const bare: number[] = [];
    const measureHearthd = async (i: number) => {
      daemon = await HearthdProcess.start(paths, ['--hypervisor', 'qemu', '--accel', 'tcg'], launcher);
      const client = daemon.client();
      await client.call('updateConfig', { body: { minimumMemoryMiB: 512 } });
      await client.call('putClass', { params: { name: 'bench' }, body: CLASS });
      const measured = await hearthdRun(client, paths.stateDir, ns, keys, dir, i);
      await client.close();
      // Stopped, not disposed: dispose removes its directory, and the image in it serves the next runs.
      daemon.signal('SIGTERM');
      await daemon.waitForExit();
      daemon = undefined;
      hearthd.push(measured.total);
      console.log(`hearthd run ${i + 1}: create → SSH answers ${s(measured.total)}`);
      for (const [phase, ms] of Object.entries(measured.phases)) console.log(`  ${phase.padEnd(32)} ${s(ms)}`);
      console.log(`  ${'running → cloud-init done'.padEnd(32)} ${measured.cloudInitDone}`);
      return measured;
    };
    const measureBare = async (i: number, from: HearthdRun) => {
      const ms = await bareRun(paths.stateDir, ns, keys, from, dir, i);
      bare.push(ms);
      console.log(`bare qemu run ${i + 1}: QEMU start → SSH answers ${s(ms)}`);
    };
    // The bare side boots the seed and spec a hearthd run made; alternate which goes first.
    let last = await measureHearthd(0);
    await measureBare(0, last);
    for (let i = 1; i < N; i++) {
      if (i % 2 === 1) {
        await measureBare(i, last);
        last = await measureHearthd(i);
      } else {
        last = await measureHearthd(i);
        await measureBare(i, last);
      }
    }
    if (process.env.BENCH_SKIP_REPO !== '1') {
      daemon = await HearthdProcess.start(paths, ['--hypervisor', 'qemu', '--accel', 'tcg'], launcher);
      const client = daemon.client();
      await repositoryRun(client, {
        ns,
        serverAddress: '192.0.2.1',
        publicKey: keys.publicKey,
        cls: 'bench',
        image: IMAGE,
        sshAnswers: async (address, alias, hostKeys) => {
          const knownHosts = join(dir, 'known_hosts-repo');
          await writeFile(knownHosts, hostKeys.map((k) => `${alias} ${k}\n`).join(''));
          return sshAnswers({ ns, keys, address, alias, knownHosts });
        },
      });
      await client.close();
    } else console.log('repository environment: skipped (BENCH_SKIP_REPO=1)');
    console.log(`median create → SSH: hearthd ${s(median(hearthd))}, bare qemu ${s(median(bare))}`);
    console.log(`create-to-ssh ratio vs bare qemu: ${(median(hearthd) / median(bare)).toFixed(3)}`);
  } finally {
    if (daemon) {
      await killVmms(paths);
      await daemon.dispose();
    }
    await rm(paths.dir, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
