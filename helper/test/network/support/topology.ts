import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { eventually } from '../../support/eventually.js';

/** Runs a command in namespace `ns` (root); its stdout, or throws with its stderr. */
export async function inNs(ns: string, args: string[], options: { timeout?: number } = {}): Promise<string> {
  const result = await execa('ip', ['netns', 'exec', ns, ...args], {
    timeout: options.timeout ?? 20_000,
    reject: false,
  });
  if (result.exitCode !== 0)
    throw new Error(`[${ns}] ${args.join(' ')}: exit ${result.exitCode} ${result.stderr || result.stdout}`);
  return result.stdout;
}

/** Whether the command succeeds in `ns` (for reachability: false is an answer, not an error). */
export async function succeeds(ns: string, args: string[], timeout = 10_000): Promise<boolean> {
  const result = await execa('ip', ['netns', 'exec', ns, ...args], { timeout, reject: false });
  return result.exitCode === 0;
}

/**
 * Network namespaces a test creates, all named with one random suffix and all deleted by
 * `destroy` (with every process still running in them).
 */
/**
 * An address of the namespace's own, on its loopback (a service of the "host" that its guests
 * reach through their gateway, whether or not hearthd's bridge exists yet).
 */
export async function addLocalAddress(ns: string, cidr: string): Promise<void> {
  await inNs(ns, ['ip', 'address', 'add', cidr, 'dev', 'lo']);
}

export class Namespaces {
  readonly suffix = randomBytes(3).toString('hex');
  private readonly made: string[] = [];
  private readonly servers: { kill: () => void }[] = [];

  name(role: string): string {
    return `n9${role}-${this.suffix}`;
  }

  async add(role: string): Promise<string> {
    const ns = this.name(role);
    await execa('ip', ['netns', 'add', ns]);
    this.made.push(ns);
    await inNs(ns, ['ip', 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** A veth from `a` (named `aName`, address `aCidr`) to `b`; either address may be omitted. */
  async link(
    a: string,
    aName: string,
    aCidr: string | null,
    b: string,
    bName: string,
    bCidr: string | null,
  ): Promise<void> {
    await inNs(a, ['ip', 'link', 'add', aName, 'type', 'veth', 'peer', 'name', bName, 'netns', b]);
    for (const [ns, dev, cidr] of [
      [a, aName, aCidr],
      [b, bName, bCidr],
    ] as const) {
      if (cidr) await inNs(ns, ['ip', 'addr', 'add', cidr, 'dev', dev]);
      await inNs(ns, ['ip', 'link', 'set', dev, 'up']);
    }
  }

  /**
   * busybox httpd serving `dir` on `port` in `ns`, until destroy; resolves once it answers HTTP
   * there, and throws with the reason (busybox missing, the port taken) when it cannot, so a test
   * never goes on against a server that is not there.
   */
  async serve(ns: string, dir: string, port: number): Promise<void> {
    const child = execa('ip', ['netns', 'exec', ns, 'busybox', 'httpd', '-f', '-p', String(port), '-h', dir], {
      reject: false,
    });
    this.servers.push({ kill: () => child.kill('SIGKILL') });
    let ended: string | undefined;
    void child.then((result) => {
      ended = `it exited (${String(result.exitCode ?? result.signal)}): ${result.stderr || result.stdout}`;
    });
    // Any HTTP answer (even a 404) says it listens: curl without --fail exits 0 on one.
    const answers = ['curl', '-sS', '-o', '/dev/null', '--max-time', '1', `http://127.0.0.1:${port}/`];
    await eventually(() => succeeds(ns, answers, 2_000), {
      what: `busybox httpd on port ${port} in ${ns}`,
      timeoutMs: 10_000,
      intervalMs: 100,
      giveUp: () => ended,
    });
  }

  async destroy(): Promise<void> {
    for (const server of this.servers) server.kill();
    for (const ns of this.made.reverse()) {
      // Anything still running inside (dnsmasq, a harness) would keep its interfaces alive.
      const pids = await execa('ip', ['netns', 'pids', ns], { reject: false });
      for (const pid of pids.stdout.split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone already
        }
      }
      await execa('ip', ['netns', 'del', ns], { reject: false });
    }
  }
}
