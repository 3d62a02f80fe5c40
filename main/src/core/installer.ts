import { spawn } from 'node:child_process';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InstallRequest, InstallRun } from '#protocol';
import type { ConnectionManager } from './connection.js';
import { applyInstallerLine, failRun, newRun, planInstall, type InstallFacts } from './installer-plan.js';

/** Runs the install script with root's privileges, handing each output line to `onLine`. */
export interface PrivilegedRunner {
  /** Shown in logs and the UI: how the privilege is obtained. */
  readonly description: string;
  run(script: string, args: string[], onLine: (line: string) => void): Promise<{ code: number; output: string }>;
}

/** Runs the script directly: for when the app already runs as root (tests, `--install-root` development). */
export class DirectRunner implements PrivilegedRunner {
  readonly description = 'running directly (already root)';

  run(script: string, args: string[], onLine: (line: string) => void) {
    return new Promise<{ code: number; output: string }>((resolve, reject) => {
      const child = spawn('/bin/bash', [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      let partial = '';
      const take = (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        output += text;
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      };
      child.stdout.on('data', take);
      child.stderr.on('data', take);
      child.once('error', reject);
      child.once('close', (code) => {
        if (partial) onLine(partial);
        resolve({ code: code ?? 1, output });
      });
    });
  }
}

type SudoExec = (
  command: string,
  options: { name: string; env?: Record<string, string> },
  callback: (error?: Error, stdout?: string | Buffer, stderr?: string | Buffer) => void,
) => void;

/**
 * sudo-prompt hands the command to `/bin/bash -c "…"` inside double quotes, escaping only `"`, so
 * `$`, backticks and backslashes would be expanded by the outer shell. Our arguments are paths and
 * versions: anything outside this set is refused rather than quoted.
 */
const SAFE_ARG = /^[\w ./@:+=,%-]+$/;
const quote = (s: string) => {
  if (!SAFE_ARG.test(s)) throw new Error(`refusing to pass ${JSON.stringify(s)} to the privileged command`);
  return `'${s}'`;
};

/**
 * The desktop path: one pkexec (or sudo) password dialog through sudo-prompt. sudo-prompt hands
 * back output only at the end, so progress is followed through a file the script appends to
 * (with the caller's identity, never root's), polled while it runs.
 */
export class SudoPromptRunner implements PrivilegedRunner {
  readonly description = 'through the system password dialog (pkexec)';

  constructor(private readonly exec: SudoExec) {}

  async run(script: string, args: string[], onLine: (line: string) => void) {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-install-'));
    const progress = join(dir, 'progress.log');
    const handle = await open(progress, 'wx', 0o600);
    await handle.close();
    let offset = 0;
    let partial = '';
    let seen = 0;
    const poll = async () => {
      const text = (await readFile(progress)).subarray(offset).toString('utf8');
      offset += Buffer.byteLength(text);
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        seen += 1;
        onLine(line);
      }
    };
    const timer = setInterval(() => void poll().catch(() => undefined), 200);
    try {
      const command = ['/bin/bash', script, ...args, '--progress', progress].map(quote).join(' ');
      const result = await new Promise<{ code: number; output: string }>((resolve) => {
        this.exec(command, { name: 'Hearth' }, (error, stdout, stderr) => {
          const output = `${String(stdout ?? '')}${String(stderr ?? '')}`;
          if (!error) {
            resolve({ code: 0, output });
            return;
          }
          const code = (error as { code?: unknown }).code;
          const dismissed = /dismissed|cancel|not authorized|did not grant|126/i.test(error.message);
          resolve({
            code: typeof code === 'number' ? code : dismissed ? 126 : 1,
            output: output || error.message,
          });
        });
      });
      await poll();
      if (partial) onLine(partial);
      // The progress file stayed empty (an old setpriv, say): replay what sudo-prompt collected.
      if (seen === 0) for (const line of result.output.split('\n')) if (line) onLine(line);
      return result;
    } finally {
      clearInterval(timer);
      await rm(dir, { recursive: true, force: true });
    }
  }
}

export interface InstallerOptions {
  /** hearth-install.sh as shipped in the app. */
  script: string;
  runner: PrivilegedRunner;
  connection: ConnectionManager;
  /** Facts the plan needs: the installed version (from installed.env), the bundled one, overrides. */
  facts: () => Promise<InstallFacts>;
  /** After a successful install, wait this long for hearthd to answer with the bundled version. */
  verifyTimeoutMs?: number;
  now?: () => number;
}

/** Reads the version a previous install recorded, or null when hearthd is not installed. */
export async function readInstalledVersion(root = '/'): Promise<string | null> {
  try {
    const text = await readFile(join(root, 'usr/lib/hearth/installed.env'), 'utf8');
    return /^HEARTH_VERSION=(.+)$/m.exec(text)?.[1] ?? 'unknown';
  } catch {
    return null;
  }
}

/** One installer run at a time; every change is published to the UI. */
export class Installer {
  private current: InstallRun | null = null;
  private readonly listeners = new Set<(run: InstallRun) => void>();
  private readonly now: () => number;

  constructor(private readonly options: InstallerOptions) {
    this.now = options.now ?? Date.now;
  }

  get run(): InstallRun | null {
    return this.current;
  }

  onUpdate(listener: (run: InstallRun) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts a run and returns its first state; progress arrives through onUpdate. */
  async start(request: InstallRequest): Promise<InstallRun> {
    if (this.current?.state === 'running') throw new Error('The installer is already running.');
    const facts = await this.options.facts();
    const plan = planInstall(request, facts);
    this.publish(newRun(plan, request.action, this.now()));
    this.publish({
      ...this.current!,
      steps: this.current!.steps.map((s) => (s.id === 'authorize' ? { ...s, state: 'running' } : s)),
    });
    const started = this.current!;
    void this.execute(plan.args, facts).catch((error: unknown) =>
      this.publish(failRun(this.current!, error instanceof Error ? error.message : String(error), this.now())),
    );
    return started;
  }

  private async execute(args: string[], facts: InstallFacts): Promise<void> {
    const { code, output } = await this.options.runner.run(this.options.script, args, (line) =>
      this.publish(applyInstallerLine(this.current!, line)),
    );
    let run = this.current!;
    if (run.state === 'failed') {
      // The script said which step failed and why (::fail); keep exactly that.
      this.publish({ ...run, finishedAt: this.now() });
      return;
    }
    if (code !== 0) {
      const authorize = run.steps.find((s) => s.id === 'authorize');
      const message =
        authorize?.state === 'running'
          ? code === 126 || code === 127
            ? 'The password dialog was dismissed or authorization failed.'
            : `Could not get administrator rights: ${lastLine(output)}`
          : (run.error ?? `the install script exited with ${code}: ${lastLine(output)}`);
      this.publish(failRun(run, message, this.now()));
      return;
    }
    const verify = run.steps.find((s) => s.id === 'verify');
    if (verify) {
      if (facts.root !== undefined) {
        run = setStep(run, 'verify', 'skipped', 'installed into a scratch root; nothing was started');
      } else {
        this.publish(setStep(run, 'verify', 'running'));
        this.options.connection.reconnectNow();
        try {
          const status = await this.options.connection.waitFor(
            (s) => s.state === 'connected' || s.state === 'version-mismatch',
            this.options.verifyTimeoutMs ?? 30_000,
          );
          if (status.state !== 'connected') throw new Error(status.message);
          const running = status.version?.hearthd;
          if (running !== facts.bundledVersion) {
            throw new Error(`hearthd ${running ?? '?'} answers, but ${facts.bundledVersion} was installed`);
          }
          run = setStep(this.current!, 'verify', 'unchanged', `hearthd ${running} answers`);
        } catch (error) {
          this.publish(failRun(this.current!, error instanceof Error ? error.message : String(error), this.now()));
          return;
        }
      }
    }
    // Whatever changed (installed, removed), the connection state should say so now.
    this.options.connection.reconnectNow();
    this.publish({ ...run, state: 'succeeded', finishedAt: this.now() });
  }

  private publish(run: InstallRun): void {
    this.current = run;
    for (const listener of this.listeners) listener(run);
  }
}

function setStep(run: InstallRun, id: string, state: InstallRun['steps'][number]['state'], note?: string): InstallRun {
  return {
    ...run,
    steps: run.steps.map((s) => (s.id === id ? { ...s, state, ...(note === undefined ? {} : { note }) } : s)),
  };
}

const lastLine = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('::'))
    .at(-1) ?? '';
