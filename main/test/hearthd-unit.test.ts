import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const UNIT = join(import.meta.dirname, '..', '..', 'assets', 'linux', 'hearthd.service');
const run = promisify(execFile);

describe('assets/linux/hearthd.service', () => {
  it('has the hardening the issue asks for, and only the capabilities hearthd needs', async () => {
    const unit = await readFile(UNIT, 'utf8');
    const values = (key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]);
    for (const [key, value] of [
      ['NoNewPrivileges', 'yes'],
      ['ProtectSystem', 'strict'],
      ['ProtectHome', 'yes'],
      ['PrivateTmp', 'yes'],
      ['DevicePolicy', 'closed'],
      ['KillMode', 'process'],
    ])
      expect(values(key!), key).toEqual([value]);
    expect(values('DeviceAllow').sort()).toEqual(['/dev/kvm rw', '/dev/net/tun rw', '/dev/vhost-net rw']);
    expect(values('CapabilityBoundingSet')[0]?.split(' ').sort()).toEqual([
      'CAP_CHOWN',
      'CAP_FOWNER',
      'CAP_KILL',
      'CAP_NET_ADMIN',
      'CAP_NET_BIND_SERVICE',
      'CAP_SETGID',
      'CAP_SETUID',
    ]);
    // /proc/sys is read-only under ProtectKernelTunables; IPv4 forwarding (NAT) is all it may set.
    expect(values('ReadWritePaths')).toContain('/proc/sys/net/ipv4');
    // Runs only the root-owned copies the installer made.
    expect(values('ExecStart')[0]).toMatch(
      /^\/usr\/lib\/hearth\/node (--[\w-]+=?\S* )*\/usr\/lib\/hearth\/hearthd\.mjs /,
    );
    // RuntimeDirectory= would re-own /run/hearth root:root at each start, locking the hearth group out.
    expect(values('RuntimeDirectory')).toEqual([]);
  });

  it('scores an exposure of 4.0 or better in systemd-analyze security', async () => {
    const { stdout } = await run('systemd-analyze', ['security', '--offline=true', '--no-pager', UNIT]);
    const score = Number(/Overall exposure level for hearthd\.service: ([\d.]+)/.exec(stdout)?.[1]);
    console.log(`systemd-analyze security: hearthd.service exposure ${score}`);
    expect(score).toBeLessThanOrEqual(4.0);
  });
});
