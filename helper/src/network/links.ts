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

  /** The bridge, with exactly `cidr` (its first host address) and up. */
  async ensureBridge(name: string, cidr: string): Promise<void> {
    if (!(await this.exists(name))) await this.tools.run('ip', ['link', 'add', name, 'type', 'bridge']);
    await this.tools.run('ip', ['addr', 'replace', cidr, 'dev', name]);
    await this.tools.run('ip', ['link', 'set', name, 'up']);
  }

  /** A TAP only `uid`/`gid` may open (the VMM user), on the bridge and up. */
  async ensureTap(name: string, bridge: string, uid: number, gid: number): Promise<void> {
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
