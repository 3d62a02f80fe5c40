import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { FakeGuest } from '../harness.js';
import { spawnAsUnitInNetns } from '../../support/unit-profile.js';

const HARNESS = join(import.meta.dirname, '..', 'harness.ts');

/**
 * harness.ts run as a script inside namespace `ns`, with hearthd's privileges from the unit file,
 * as something outside the test suite would run it: guests from a JSON file, TAP names read from
 * its first line, released by a line on its stdin.
 */
export class HarnessProcess {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    private readonly child: ChildProcess,
    readonly attached: Promise<{ bridge: string; taps: Record<string, string> }>,
    private readonly stderr: Buffer[],
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  static async start(
    ns: string,
    dir: string,
    guests: readonly FakeGuest[],
    env: Record<string, string> = {},
  ): Promise<HarnessProcess> {
    const file = join(dir, 'guests.json');
    await writeFile(file, JSON.stringify(guests));
    const child = spawnAsUnitInNetns(ns, HARNESS, ['--guests', file, '--runtime', join(dir, 'run')], {
      ...process.env,
      ...env,
    });
    const stderr: Buffer[] = [];
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const attached = new Promise<{ bridge: string; taps: Record<string, string> }>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line) as never));
      child.once('exit', (code, signal) =>
        reject(new Error(`harness exited (${String(code ?? signal)}): ${Buffer.concat(stderr).toString('utf8')}`)),
      );
    });
    attached.catch(() => undefined);
    return new HarnessProcess(child, attached, stderr);
  }

  /** Bytes hearthd's log (the harness's stderr) holds so far. */
  logBytes(): number {
    return this.stderr.reduce((n, b) => n + b.length, 0);
  }

  logText(): string {
    return Buffer.concat(this.stderr).toString('utf8');
  }

  /** Detaches every guest and waits for the harness to end. */
  async release(): Promise<void> {
    this.child.stdin!.write('\n');
    await this.exited;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}
