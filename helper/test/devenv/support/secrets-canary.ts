import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import type { Environment } from '#protocol';
import type { HearthdClient } from '#protocol/client';

interface Needle {
  label: string;
  value: string;
}

/**
 * Looks for secrets where they must never be: each secret is a needle (a token as it is; a
 * private key as each long line of its body, so a partial copy is caught too), and every place
 * looked at is counted, so a canary that looked nowhere cannot pass.
 */
export class SecretsCanary {
  private readonly needles: Needle[] = [];
  private readonly found: string[] = [];
  private readonly events: string[] = [];
  private places = 0;
  private readonly abort = new AbortController();

  secret(label: string, value: string): void {
    this.needles.push({ label, value });
  }

  /**
   * An OpenSSH private key: each line of its body but the first two, which every unencrypted key
   * of its type shares (the format's header) or which hold only the public key.
   */
  privateKey(label: string, pem: string): void {
    const body = pem
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('-----'));
    for (const line of body.slice(2)) if (line.length >= 16) this.needles.push({ label, value: line });
  }

  /** Keeps every event hearthd sends from now on, until `sawEvents`. */
  collectEvents(client: HearthdClient): void {
    void (async () => {
      try {
        for await (const event of client.events(this.abort.signal)) this.events.push(JSON.stringify(event));
      } catch {
        // Ended by sawEvents.
      }
    })();
  }

  sawEvents(): void {
    this.abort.abort();
    this.sawText(`events (${this.events.length})`, this.events.join('\n'));
  }

  sawApi(text: string): void {
    this.sawText('an API answer', text);
  }

  sawLog(text: string): void {
    this.sawText("hearthd's log", text);
  }

  sawText(where: string, text: string): void {
    this.places += 1;
    for (const needle of this.needles) if (text.includes(needle.value)) this.found.push(`${needle.label} in ${where}`);
  }

  /** The VMM's command line and environment. */
  async sawVmm(env: Environment): Promise<void> {
    const pid = env.vmm?.pid;
    if (!pid) return;
    for (const file of ['cmdline', 'environ'])
      this.sawText(`${env.name}'s VMM ${file}`, (await readFile(`/proc/${pid}/${file}`)).toString('latin1'));
  }

  /** Every file of the environment (seed disk, overlay, console log …), byte for byte. */
  async sawEnvironmentFiles(paths: { stateDir: string; runtimeDir: string }, id: string): Promise<void> {
    const files = await execa('find', [`${paths.stateDir}/environments/${id}`, paths.runtimeDir, '-type', 'f'], {
      reject: false,
    });
    for (const file of files.stdout.split('\n').filter(Boolean)) await this.sawFile(file);
  }

  /** Every file anyone may read below `dirs`. */
  async sawWorldReadable(dirs: string[]): Promise<void> {
    const files = await execa('find', [...dirs, '-type', 'f', '-perm', '-o=r'], { reject: false });
    for (const file of files.stdout.split('\n').filter(Boolean)) await this.sawFile(file);
  }

  /** A file of any size, streamed with an overlap so no needle is missed at a chunk's edge. */
  async sawFile(file: string): Promise<void> {
    this.places += 1;
    const longest = Math.max(1, ...this.needles.map((n) => n.value.length));
    let tail = Buffer.alloc(0);
    const hits = new Set<string>();
    for await (const chunk of createReadStream(file, { highWaterMark: 4 * 1024 * 1024 })) {
      const buffer = Buffer.concat([tail, chunk as Buffer]);
      for (const needle of this.needles) if (buffer.includes(needle.value)) hits.add(needle.label);
      tail = buffer.subarray(Math.max(0, buffer.length - longest));
    }
    for (const label of hits) this.found.push(`${label} in ${file}`);
  }

  leaks(): string[] {
    return [...new Set(this.found)];
  }

  looked(): number {
    return this.places;
  }
}
