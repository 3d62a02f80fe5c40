import { execa } from 'execa';
import { findExecutable } from '../system/executables.js';
import type { HostRoot } from '../system/host-root.js';

export type NetworkProgram = 'ip' | 'bridge' | 'nft' | 'dnsmasq';

const PACKAGES: Record<NetworkProgram, string> = {
  ip: 'iproute2',
  bridge: 'iproute2',
  nft: 'nftables',
  dnsmasq: 'dnsmasq-base',
};

/** The programs the network needs, found afresh in the system directories each time (executables.ts). */
export class NetworkTools {
  constructor(private readonly host: HostRoot) {}

  async path(name: NetworkProgram): Promise<string> {
    const found = await findExecutable(this.host, name);
    if (!found.found)
      throw new Error(
        found.untrusted
          ? `${found.untrusted} is not trusted (not root-owned, or writable by others)`
          : `${name} is not installed (Debian/Ubuntu: apt-get install ${PACKAGES[name]})`,
      );
    return found.executable.hostPath;
  }

  /** Runs a network program with an argument array (never a shell); its stderr is the error. */
  async run(name: NetworkProgram, args: string[], input?: string): Promise<string> {
    const result = await execa(await this.path(name), args, {
      ...(input === undefined ? { stdin: 'ignore' as const } : { input }),
      timeout: 30_000,
      reject: false,
      env: { LC_ALL: 'C' },
      extendEnv: false,
    });
    if (result.exitCode !== 0 || result.failed)
      throw new Error(`${name} ${args.slice(0, 4).join(' ')}: ${String(result.stderr || result.message).trim()}`);
    return result.stdout;
  }
}
