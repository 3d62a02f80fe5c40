import type { NetworkTools } from './tools.js';

/**
 * Network devices through `ip` (argument arrays, names hearthd made itself). Every step is
 * idempotent: it can be repeated after a crash half-way.
 */
export class Links {
  constructor(private readonly tools: NetworkTools) {}

  async exists(name: string): Promise<boolean> {
    const out = await this.tools.run('ip', ['-j', 'link', 'show']);
    return (JSON.parse(out) as { ifname: string }[]).some((l) => l.ifname === name);
  }

  /**
   * The bridge, with exactly `cidr` (its first host address) and up. It learns nothing from
   * link-local frames (LLDP, 802.1X): those reach the bridge before any filter, so a guest could
   * otherwise move another guest's MAC to its own port with one.
   */
  async ensureBridge(name: string, cidr: string): Promise<void> {
    if (!(await this.exists(name))) await this.tools.run('ip', ['link', 'add', name, 'type', 'bridge']);
    await this.tools.run('ip', ['link', 'set', name, 'type', 'bridge', 'no_linklocal_learn', '1']);
    await this.tools.run('ip', ['addr', 'replace', cidr, 'dev', name]);
    await this.tools.run('ip', ['link', 'set', name, 'up']);
  }

  /**
   * A TAP only `uid`/`gid` may open (the VMM user), on the bridge and up. The bridge learns
   * nothing on it and floods no unknown unicast to it: the one MAC it delivers there is the
   * guest's own, a static entry, so no frame a guest sends (whatever its source) can move another
   * guest's MAC or fill the table (Linux 6.1 has no limit on learned entries).
   */
  async ensureTap(name: string, bridge: string, mac: string, uid: number, gid: number): Promise<void> {
    if (await this.exists(name)) await this.remove(name); // a stale one may belong to another user
    await this.tools.run('ip', [
      'tuntap',
      'add',
      'dev',
      name,
      'mode',
      'tap',
      'user',
      String(uid),
      'group',
      String(gid),
    ]);
    await this.tools.run('ip', ['link', 'set', name, 'master', bridge]);
    await this.tools.run('ip', ['link', 'set', name, 'type', 'bridge_slave', 'learning', 'off', 'flood', 'off']);
    await this.tools.run('bridge', ['fdb', 'replace', mac, 'dev', name, 'master', 'static']);
    await this.tools.run('ip', ['link', 'set', name, 'up']);
  }

  async remove(name: string): Promise<void> {
    if (await this.exists(name)) await this.tools.run('ip', ['link', 'delete', name]);
  }

  /** Names of interfaces matching `pattern` (leftover TAPs after a crash). */
  async matching(pattern: RegExp): Promise<string[]> {
    const out = await this.tools.run('ip', ['-j', 'link', 'show']);
    return (JSON.parse(out) as { ifname: string }[]).map((l) => l.ifname).filter((n) => pattern.test(n));
  }
}
