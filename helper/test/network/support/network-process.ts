import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Spec } from '../../../src/environments/record.js';
import type { StoredNetwork } from '../../../src/network/guest-network.js';
import { spawnAsUnitInNetns } from '../../support/unit-profile.js';

/** An environment's spec with its network component's stored state, as the harness takes it. */
export type HarnessSpec = Spec & { network?: StoredNetwork };

const HARNESS = join(import.meta.dirname, 'network-harness.ts');

/**
 * network-harness.ts as a process inside network namespace `netns`, with hearthd's privileges
 * from the unit file (bounding set, no new privileges, umask): what the network code can do
 * there is what it can do when installed.
 */
export class NetworkProcess {
  readonly stderr: string[] = [];
  private readonly answers: ((line: string) => void)[] = [];
  readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => this.answers.shift()?.(line));
    child.stderr!.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString('utf8')));
    this.exited = new Promise((resolve) => child.once('exit', resolve));
  }

  static start(netns: string, runtimeDir: string, stateDir: string, subnet = '10.131.0.0/24'): NetworkProcess {
    const child = spawnAsUnitInNetns(netns, HARNESS, [runtimeDir, stateDir, subnet]);
    return new NetworkProcess(child);
  }

  private async send(command: object): Promise<unknown> {
    const answer = new Promise<string>((resolve, reject) => {
      this.answers.push(resolve);
      void this.exited.then(() => reject(new Error(`network harness exited: ${this.stderr.join('')}`)));
    });
    this.child.stdin!.write(`${JSON.stringify(command)}\n`);
    const parsed = JSON.parse(await answer) as { ok?: unknown; error?: string };
    if (parsed.error !== undefined) throw new Error(parsed.error);
    return parsed.ok;
  }

  /** The daemon's start: reattached VMs keep their network, leftovers go. */
  open(): Promise<unknown> {
    return this.send({ op: 'open' });
  }

  prepare(spec: HarnessSpec): Promise<{ network?: { tap: string; mac: string } }> {
    return this.send({ op: 'prepare', spec }) as Promise<{ network?: { tap: string; mac: string } }>;
  }

  teardown(spec: HarnessSpec): Promise<unknown> {
    return this.send({ op: 'teardown', spec });
  }

  recover(spec: HarnessSpec): Promise<unknown> {
    return this.send({ op: 'recover', spec });
  }

  async exit(): Promise<void> {
    await this.send({ op: 'exit' });
    await this.exited;
  }

  /** A crash: nothing is cleaned up. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
