import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  guestListenPath,
  listenForGuest,
  prepareVsockDir,
  releaseVsockDir,
  vsockDirOf,
} from '../src/vmm/cloud-hypervisor/hybrid-vsock.js';
import type { VmSpec } from '../src/vmm/driver.js';
import { NEEDS_ROOT, skipWhen } from './support/skip.js';

/**
 * The hybrid-vsock directory against a hostile VMM user (`nobody`, as the tests' VMM user): it
 * can make CH's socket there, but nothing it plants makes root follow a link, lose its listener
 * or descend into a directory of the VMM user's.
 */
const VMM = 65534;
const asVmm = (...argv: string[]) =>
  spawnSync('setpriv', [`--reuid=${VMM}`, `--regid=${VMM}`, '--clear-groups', ...argv], { encoding: 'utf8' });

describe('hybrid vsock directory', skipWhen(NEEDS_ROOT), () => {
  let dir: string;
  let spec: VmSpec;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hearth-vsock-'));
    chmodSync(dir, 0o711);
    mkdirSync(join(dir, 'run', 'vms', 'envvs1'), { recursive: true, mode: 0o700 });
    chmodSync(join(dir, 'run'), 0o711);
    spec = {
      id: 'envvs1',
      runtimeDir: join(dir, 'run', 'vms', 'envvs1'),
      uid: VMM,
      gid: VMM,
    } as VmSpec;
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is root-owned, sticky and writable by the VMM group only; root never follows what the VMM user plants', async () => {
    const vsockDir = vsockDirOf(spec);
    expect(vsockDir).toBe(join(dir, 'run', 'vsock', 'envvs1'));
    await prepareVsockDir(spec);
    const st = statSync(vsockDir);
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([0, VMM, 0o1730]);
    expect(statSync(join(dir, 'run', 'vsock')).mode & 0o7777).toBe(0o711);

    const listen = guestListenPath(spec);
    // The VMM user plants a link where hearthd will listen, and a directory of its own.
    const passwd = readFileSync('/etc/passwd', 'utf8');
    expect(asVmm('ln', '-s', '/etc/passwd', listen).status).toBe(0);
    expect(asVmm('mkdir', join(vsockDir, 'junk')).status).toBe(0);
    expect(asVmm('touch', join(vsockDir, 'junk', 'inside')).status).toBe(0);
    // It cannot list the directory.
    expect(asVmm('ls', vsockDir).status).not.toBe(0);

    const server = await listenForGuest(listen);
    expect(lstatSync(listen).isSocket()).toBe(true);
    expect(lstatSync(listen).uid).toBe(0);
    expect(readFileSync('/etc/passwd', 'utf8')).toBe(passwd);
    // The VMM user can connect (it must: CH forwards the guest there) …
    const connected = spawnSync(
      'setpriv',
      [
        `--reuid=${VMM}`,
        `--regid=${VMM}`,
        '--clear-groups',
        '/usr/bin/python3',
        '-c',
        `import socket; socket.socket(socket.AF_UNIX).connect(${JSON.stringify(listen)})`,
      ],
      { encoding: 'utf8' },
    );
    expect(connected.status, connected.stderr).toBe(0);
    // … but neither remove nor replace root's listener.
    expect(asVmm('rm', '-f', listen).status).not.toBe(0);
    expect(asVmm('mv', '-f', join(vsockDir, 'junk'), listen).status).not.toBe(0);
    expect(lstatSync(listen).uid).toBe(0);
    await new Promise((resolve) => server.close(resolve));

    // Cleanup unlinks what it can and does not enter the VMM user's directory: it moves it all aside.
    const released = await releaseVsockDir(spec);
    expect(released.movedAside).toEqual([join(vsockDir, 'junk')]);
    expect(existsSync(vsockDir)).toBe(false);
    const aside = execFileSync('ls', ['-a', join(dir, 'run', 'vsock')], { encoding: 'utf8' });
    expect(aside).toMatch(/\.stale-envvs1-\d+/);

    // The next launch starts from an empty directory again.
    await prepareVsockDir(spec);
    expect(execFileSync('ls', ['-A', vsockDir], { encoding: 'utf8' })).toBe('');
  });
});
