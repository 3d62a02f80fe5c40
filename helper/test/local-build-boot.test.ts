import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { isAgentMessage, type AgentMessage, type AgentStatus } from '../src/guest/agent-messages.js';
import { AGENT_VERSION } from '../src/guest/agent-script.js';
import { fingerprintOf } from '../src/guest/usable.js';
import { GUEST_CHANNEL_NAME } from '../src/vmm/driver.js';
import { installDebianImage } from './support/debian-image.js';
import { eventually } from './support/eventually.js';

// Boots the locally built image ONCE, directly with QEMU TCG (no hearthd: this proves the image,
// not the launcher), with a minimal NoCloud seed, and watches cloud-init finish and the baked-in
// agent report over its virtio-serial port (a file here). Run under the VM lock:
//   flock /tmp/hearth-vm.lock npx vitest run helper/test/local-build-boot.test.ts
// The NIC is QEMU's user network with restrict=on, inside a network namespace this test creates:
// the guest gets an address by DHCP and can reach nothing.

const run = promisify(execFile);
const BOOT_TIMEOUT_MS = 15 * 60_000;
const DISK_BYTES = 4 * 2 ** 30;

let work: string;
let netns: string;
let qemu: ChildProcess | undefined;
let console_: string;
let agentOut: string;
let booted: { seconds: number; agentLines: AgentStatus[]; messages: AgentMessage[]; console: string };
/** The seed's owner key: the agent must find it in dev's authorized_keys. */
let ownerKey: string;

async function readOrEmpty(file: string): Promise<string> {
  return readFile(file, 'utf8').catch(() => '');
}

/** Every line the agent wrote, in order, as hearthd would take them (the schema check drops nothing). */
function agentMessages(text: string): AgentMessage[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as unknown)
    .filter((m): m is AgentMessage => isAgentMessage(m));
}

function agentLines(text: string): AgentStatus[] {
  return agentMessages(text).filter((m): m is AgentStatus => m.type === 'status');
}

async function makeSeed(dir: string): Promise<string> {
  await writeFile(
    join(dir, 'meta-data'),
    stringify({ 'instance-id': 'local-build-boot', 'local-hostname': 'lb-boot' }),
  );
  const userData = {
    users: [{ name: 'dev', shell: '/bin/bash', sudo: 'ALL=(ALL) NOPASSWD:ALL', ssh_authorized_keys: [ownerKey] }],
    runcmd: [['sh', '-c', 'echo "HEARTH-ROOT-BYTES $(df -B1 --output=size / | tail -n 1)" > /dev/ttyS0']],
  };
  await writeFile(join(dir, 'user-data'), `#cloud-config\n${stringify(userData)}`);
  const seed = join(dir, 'seed.img');
  await run('mkfs.vfat', ['-n', 'CIDATA', '-C', seed, '2048']);
  await run('mcopy', ['-i', seed, join(dir, 'meta-data'), join(dir, 'user-data'), '::']);
  return seed;
}

/** Waits for what the booting guest shows, giving up when QEMU has exited. */
function untilGuest<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  return eventually(check, {
    what,
    timeoutMs,
    intervalMs: 2_000,
    giveUp: () => (qemu?.exitCode !== null && qemu?.exitCode !== undefined ? 'QEMU exited' : undefined),
    context: async () => (await readOrEmpty(console_)).slice(-3000),
  });
}

beforeAll(
  async () => {
    work = await mkdtemp(join(tmpdir(), 'hearth-local-build-boot-'));
    const { name } = await installDebianImage({ stateDir: join(work, 'state') });
    const dir = join(work, 'state', 'images', name);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { cmdline: string };
    const overlay = join(work, 'overlay.qcow2');
    await run('qemu-img', [
      'create',
      '-q',
      '-f',
      'qcow2',
      '-F',
      'qcow2',
      '-b',
      join(dir, 'disk.qcow2'),
      overlay,
      `${DISK_BYTES}`,
    ]);
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'owner@lb-boot', '-f', join(work, 'owner')]);
    ownerKey = (await readFile(join(work, 'owner.pub'), 'utf8')).trim();
    const seed = await makeSeed(work);
    console_ = join(work, 'console.log');
    agentOut = join(work, 'agent.out');
    netns = `hearth-lb-${process.pid}`;
    await run('ip', ['netns', 'add', netns]);
    const started = Date.now();
    qemu = spawn(
      'ip',
      [
        ...['netns', 'exec', netns, 'qemu-system-x86_64', '-accel', 'tcg', '-m', '2048', '-smp', '2'],
        ...['-nodefaults', '-no-reboot', '-display', 'none', '-monitor', 'none'],
        ...['-kernel', join(dir, 'vmlinuz'), '-initrd', join(dir, 'initrd.img'), '-append', manifest.cmdline],
        ...['-drive', `file=${overlay},if=virtio,format=qcow2`],
        ...['-drive', `file=${seed},if=virtio,format=raw,readonly=on`],
        ...['-netdev', 'user,id=n0,restrict=on', '-device', 'virtio-net-pci,netdev=n0'],
        ...['-device', 'virtio-serial-pci', '-chardev', `file,id=agent,path=${agentOut}`],
        ...['-device', `virtserialport,chardev=agent,name=${GUEST_CHANNEL_NAME}`],
        ...['-serial', `file:${console_}`],
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    const lines = await untilGuest(
      'the agent to report cloud-init finished',
      async () => {
        const lines = agentLines(await readOrEmpty(agentOut));
        return lines.some((l) => l.cloudInit === 'done' || l.cloudInit === 'error') ? lines : undefined;
      },
      BOOT_TIMEOUT_MS,
    );
    const seconds = (Date.now() - started) / 1000;
    // runcmd runs in the final stage: give its console line a moment to land.
    const text = await untilGuest(
      'the runcmd line',
      async () => {
        const text = await readOrEmpty(console_);
        return text.includes('HEARTH-ROOT-BYTES') ? text : undefined;
      },
      60_000,
    );
    booted = { seconds, agentLines: lines, messages: agentMessages(await readOrEmpty(agentOut)), console: text };
    process.stderr.write(`local image: QEMU start → agent reports cloud-init done in ${seconds} s\n`);
  },
  BOOT_TIMEOUT_MS + 35 * 60_000,
);

afterAll(async () => {
  if (qemu && qemu.exitCode === null) {
    const exited = new Promise((r) => qemu!.once('exit', r));
    qemu.kill('SIGKILL');
    await exited;
  }
  if (netns) await run('ip', ['netns', 'del', netns]).catch(() => undefined);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the local Debian image, booted under QEMU TCG', () => {
  it('runs cloud-init to its final stage without errors, and the agent says so', () => {
    const last = booted.agentLines.at(-1)!;
    expect(last).toMatchObject({ cloudInit: 'done', stage: 'modules-final', errors: [] });
    // Earlier lines were sent while cloud-init was still on its way.
    expect(booted.agentLines.some((l) => l.cloudInit !== 'done')).toBe(true);
    expect(booted.console).toMatch(/Cloud-init v\. \S+ finished at .* Datasource DataSourceNoCloud/);
  });

  it("reports the guest usable — dev, the owner's key, sshd on 22 — while cloud-init's last stage still runs", () => {
    const usable = booted.messages.findIndex(
      (m) =>
        m.type === 'readiness' &&
        m.agent === AGENT_VERSION &&
        m.user &&
        m.sshd &&
        m.authorizedKeys.includes(fingerprintOf(ownerKey)) &&
        m.hostKeys.length > 0,
    );
    expect(usable).toBeGreaterThanOrEqual(0);
    // Before it, the agent said the guest was not yet usable (it checks, it does not assume).
    expect(booted.messages.slice(0, usable).some((m) => m.type === 'readiness' && !m.sshd)).toBe(true);
    // The status line of the same second: cloud-init had not finished.
    const status = booted.messages.slice(usable).find((m): m is AgentStatus => m.type === 'status');
    expect(status?.cloudInit).toBe('running');
  });

  it('reports the host keys cloud-init generated (none were baked in)', () => {
    const last = booted.agentLines.at(-1)!;
    expect(last.hostKeys.length).toBeGreaterThan(0);
    expect(last.hostKeys.some((k) => k.startsWith('ssh-ed25519 '))).toBe(true);
  });

  it('brings eth0 up by DHCP and grows / to the disk', () => {
    // cloud-init's own table of the NIC's addresses (QEMU's user network hands out 10.0.2.15).
    expect(booted.console).toMatch(/ci-info: \|\s+eth0\s+\|\s+True\s+\|\s+10\.0\.2\.15\s+\|/);
    const bytes = Number(/HEARTH-ROOT-BYTES (\d+)/.exec(booted.console)?.[1]);
    expect(bytes).toBeGreaterThan(DISK_BYTES * 0.9);
  });
});
