import { chmod, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findExecutable, verifyExecutable } from '../src/system/executables.js';
import { HostRoot } from '../src/system/host-root.js';
import { VmmRegistry } from '../src/vmm/registry.js';
import { materialize } from './fixtures/fixture-host.js';

/**
 * Fixture trees are made by the test's own user, so that uid stands for root here (HostRoot's
 * rootUid); "writable by others" is made with modes, which needs no second user.
 */
const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

const qemuVersion = (v: string) => `QEMU emulator version ${v}`;
async function fixture(executables: Record<string, string> = {}): Promise<{ root: string; host: HostRoot }> {
  const root = await materialize({ files: { '/etc/os-release': 'ID=debian\n' }, executables });
  roots.push(root);
  return { root, host: new HostRoot(root, process.getuid?.() ?? 0) };
}
async function script(path: string, output: string, mode = 0o755) {
  await mkdir(join(path, '..'), { recursive: true, mode: 0o755 });
  await writeFile(path, `#!/bin/sh\necho '${output}'\n`, { mode });
  await chmod(path, mode);
}

describe('executable lookup', () => {
  it('finds a trusted binary, through a symlink inside the tree, and runs the resolved file', async () => {
    const { root, host } = await fixture({ '/usr/lib/qemu/qemu-system-x86_64': qemuVersion('8.2.2') });
    await mkdir(join(root, 'usr/bin'), { recursive: true });
    await symlink('../lib/qemu/qemu-system-x86_64', join(root, 'usr/bin/qemu-system-x86_64'));
    const lookup = await findExecutable(host, 'qemu-system-x86_64');
    expect(lookup).toMatchObject({
      found: true,
      executable: { path: '/usr/bin/qemu-system-x86_64', hostPath: join(root, 'usr/lib/qemu/qemu-system-x86_64') },
    });
  });

  it('refuses a symlink in a system directory that points to a file others can write', async () => {
    const { root, host } = await fixture();
    await script(join(root, 'home/alice/qemu'), qemuVersion('6.6.6'), 0o777);
    await mkdir(join(root, 'usr/bin'), { recursive: true });
    await symlink(join(root, 'home/alice/qemu'), join(root, 'usr/bin/qemu-system-x86_64'));
    expect(await findExecutable(host, 'qemu-system-x86_64')).toEqual({
      found: false,
      untrusted: '/usr/bin/qemu-system-x86_64',
    });
    await expect(verifyExecutable(host, join(root, 'usr/bin/qemu-system-x86_64'))).rejects.toThrow(
      /home\/alice\/qemu .* is writable by everyone/,
    );
  });

  it('refuses a trusted file whose directory, or any directory above it, others can write', async () => {
    const { root, host } = await fixture({ '/opt/alice/bin/qemu-system-x86_64': qemuVersion('6.6.6') });
    await chmod(join(root, 'opt/alice'), 0o775);
    await mkdir(join(root, 'usr/bin'), { recursive: true });
    await symlink(join(root, 'opt/alice/bin/qemu-system-x86_64'), join(root, 'usr/bin/qemu-system-x86_64'));
    await expect(verifyExecutable(host, join(root, 'usr/bin/qemu-system-x86_64'))).rejects.toThrow(
      /opt\/alice \(on the way to .*\) is writable by its group/,
    );
    expect((await findExecutable(host, 'qemu-system-x86_64')).found).toBe(false);
    // Directly in a system directory that others can write: the same.
    const direct = await fixture({ '/usr/sbin/ip': 'ip utility, iproute2-6.1.0' });
    await chmod(join(direct.root, 'usr/sbin'), 0o777);
    expect(await findExecutable(direct.host, 'ip')).toEqual({ found: false, untrusted: '/usr/sbin/ip' });
  });

  it('refuses files not owned by root, and symlinks that leave the host root', async () => {
    const { root } = await fixture({ '/usr/bin/qemu-img': 'qemu-img version 8.2.2' });
    const strictRoot = new HostRoot(root, 4_000_000); // nobody's uid: the test's files are not "root's"
    expect((await findExecutable(strictRoot, 'qemu-img')).found).toBe(false);
    const { root: other, host } = await fixture();
    await mkdir(join(other, 'usr/bin'), { recursive: true });
    await symlink('/bin/sh', join(other, 'usr/bin/qemu-img'));
    await expect(verifyExecutable(host, join(other, 'usr/bin/qemu-img'))).rejects.toThrow(/outside/);
  });

  it('judges a binary replaced after the first lookup again: no answer is kept', async () => {
    const { root, host } = await fixture({ '/usr/bin/qemu-system-x86_64': qemuVersion('8.2.2') });
    const registry = new VmmRegistry(host, {}, () => Promise.resolve(false));
    expect(await registry.detected()).toEqual([
      { kind: 'qemu', path: '/usr/bin/qemu-system-x86_64', version: '8.2.2' },
    ]);
    const path = join(root, 'usr/bin/qemu-system-x86_64');
    // An upgrade (a new file renamed over the old): the new version is read.
    await script(`${path}.new`, qemuVersion('9.0.1'));
    await rename(`${path}.new`, path);
    expect(await registry.detected()).toEqual([
      { kind: 'qemu', path: '/usr/bin/qemu-system-x86_64', version: '9.0.1' },
    ]);
    // Replaced by a file others can write: gone from the lookup and refused right before an exec.
    await chmod(path, 0o777);
    expect(await registry.detected()).toEqual([]);
    await expect(verifyExecutable(host, path)).rejects.toThrow(/writable by everyone/);
  });

  it('a driver re-checks its binary right before starting it', async () => {
    const { root, host } = await fixture({ '/usr/bin/qemu-system-x86_64': qemuVersion('8.2.2') });
    const registry = new VmmRegistry(host, {}, () => Promise.resolve(false));
    const driver = await registry.forNewVm({ hypervisor: 'qemu', accel: 'tcg' } as never);
    const dir = join(root, 'vm');
    await mkdir(dir);
    await chmod(join(root, 'usr/bin/qemu-system-x86_64'), 0o777);
    const spec = {
      id: 'x',
      cpus: 1,
      memoryMiB: 64,
      boot: { mode: 'kernel', kernel: join(dir, 'k'), initrd: null, cmdline: '' },
      devices: [{ kind: 'disk', path: join(dir, 'd') }],
      consoleFile: join(dir, 'console.log'),
      vmmLogFile: join(dir, 'vmm.log'),
      runtimeDir: dir,
    };
    await expect(driver.launch(spec as never)).rejects.toThrow(/writable by everyone/);
  });
});
