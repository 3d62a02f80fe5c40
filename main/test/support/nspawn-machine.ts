/**
 * A Debian machine booted with `systemd-nspawn --boot`: a real systemd as PID 1 in its own pid,
 * mount and network namespaces, so hearthd's unit runs exactly as on a user's machine. The
 * cached tree is never written: each machine boots an overlay of it (or, where overlayfs is
 * unavailable, a copy), which dispose() removes whatever state the machine is in.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { eventually } from '../../../helper/test/support/eventually.js';

export interface Bind {
  host: string;
  /** Where it appears inside; always read-only: the machine must not change the project's files. */
  container: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Run as this user of the machine, with the groups /etc/group gives them (a fresh login). */
  user?: string;
  /** Run as `user` with no supplementary groups: only what ACLs grant them. */
  clearGroups?: boolean;
  timeoutMs?: number;
}

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** A deadline to race an exit against (not a wait for a state: the exit is the event). */
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The container's init: nspawn's child whose pid is 1 in its own (nested) pid namespace. */
async function findInit(nspawnPid: number): Promise<number | undefined> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await readFile(`/proc/${entry}/status`, 'utf8').catch(() => '');
    const ppid = /^PPid:\s+(\d+)$/m.exec(status)?.[1];
    const nspid = /^NSpid:\s+(.+)$/m.exec(status)?.[1]?.trim().split(/\s+/);
    if (Number(ppid) === nspawnPid && nspid && nspid.length > 1 && nspid.at(-1) === '1') return Number(entry);
  }
  return undefined;
}

export class NspawnMachine {
  /** Milliseconds from starting nspawn to `systemctl is-system-running` answering `running`. */
  bootMs = 0;

  private constructor(
    private readonly runDir: string,
    private readonly rootDir: string,
    private readonly overlay: boolean,
    private readonly nspawn: ChildProcess,
    readonly initPid: number,
    readonly consoleLog: string,
  ) {}

  static async boot(options: { tree: string; binds: Bind[]; log: (line: string) => void }): Promise<NspawnMachine> {
    const runDir = await mkdtemp(join(tmpdir(), `hearth-nspawn-${process.pid}-`));
    const rootDir = join(runDir, 'root');
    await mkdir(rootDir);
    let overlay = true;
    try {
      await mkdir(join(runDir, 'upper'));
      await mkdir(join(runDir, 'work'));
      const opts = `lowerdir=${options.tree},upperdir=${join(runDir, 'upper')},workdir=${join(runDir, 'work')}`;
      await execa('mount', ['-t', 'overlay', 'overlay', '-o', opts, rootDir]);
    } catch (error) {
      options.log(`overlayfs unavailable (${(error as Error).message.split('\n')[0]}); copying the tree instead`);
      overlay = false;
      await execa('cp', ['-a', '--reflink=auto', `${options.tree}/.`, rootDir]);
    }
    const consoleLog = join(runDir, 'console.log');
    const fd = openSync(consoleLog, 'a');
    const started = Date.now();
    // --register=no --keep-unit: no machined and no host systemd to register with or ask for a
    // scope. --private-network: whatever hearthd does to network devices stays in the machine.
    const args = ['-q', '-D', rootDir, '--boot', '--register=no', '--keep-unit', '--private-network'];
    args.push('--console=read-only', '--machine=hearth-test');
    for (const bind of options.binds) args.push(`--bind-ro=${bind.host}:${bind.container}`);
    const nspawn = spawn('systemd-nspawn', args, { stdio: ['ignore', fd, fd], env: { PATH, LC_ALL: 'C' } });
    closeSync(fd);
    const initPid = await eventually(() => findInit(nspawn.pid!), {
      what: "systemd-nspawn's init",
      timeoutMs: 10_000,
      giveUp: () => (nspawn.exitCode === null ? undefined : `systemd-nspawn exited with ${nspawn.exitCode}`),
    }).catch(() => undefined);
    const machine = new NspawnMachine(runDir, rootDir, overlay, nspawn, initPid ?? -1, consoleLog);
    try {
      if (initPid === undefined) throw new Error(`systemd-nspawn started no init:\n${await machine.consoleTail()}`);
      // Until nspawn's child has exec'd systemd and systemd opened its bus, systemctl answers
      // "offline" or cannot connect at all: ask again until boot has an outcome.
      let state = await machine.exec(['systemctl', 'is-system-running', '--wait'], { timeoutMs: 120_000 });
      await eventually(
        async () => {
          if (/^(running|degraded|maintenance|stopping)$/.test(state.stdout.trim())) return true;
          state = await machine.exec(['systemctl', 'is-system-running', '--wait'], { timeoutMs: 120_000 });
          return false;
        },
        { what: 'the machine to finish booting', timeoutMs: 120_000, intervalMs: 100 },
      ).catch(() => undefined);
      if (state.stdout.trim() !== 'running') {
        const failed = await machine.exec(['systemctl', '--failed', '--no-pager']);
        throw new Error(`the machine booted ${state.stdout.trim() || state.stderr}:\n${failed.stdout}`);
      }
      machine.bootMs = Date.now() - started;
      return machine;
    } catch (error) {
      await machine.dispose();
      throw error;
    }
  }

  /** Runs argv inside the machine (all its namespaces), never through a shell; a clean environment. */
  async exec(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const asUser = options.user
      ? [
          'setpriv',
          `--reuid=${options.user}`,
          `--regid=${options.user}`,
          options.clearGroups ? '--clear-groups' : '--init-groups',
          '--',
        ]
      : [];
    const home = options.user ? `/home/${options.user}` : '/root';
    const result = await execa(
      'nsenter',
      [
        '-t',
        String(this.initPid),
        '-a',
        '--',
        'env',
        '-i',
        `PATH=${PATH}`,
        'LC_ALL=C',
        `HOME=${home}`,
        ...asUser,
        ...argv,
      ],
      { extendEnv: false, env: { PATH }, stdin: 'ignore', reject: false, timeout: options.timeoutMs ?? 60_000 },
    );
    if (result.timedOut)
      throw new Error(`timed out in the machine: ${argv.join(' ')}\n${result.stdout}${result.stderr}`);
    return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
  }

  /** Like exec, but fails with the command's output unless it exits 0. */
  async ok(argv: string[], options: ExecOptions = {}): Promise<string> {
    const result = await this.exec(argv, options);
    if (result.exitCode !== 0)
      throw new Error(
        `${argv.join(' ')} exited ${result.exitCode} in the machine:\n${result.stdout}\n${result.stderr}`,
      );
    return result.stdout;
  }

  async consoleTail(lines = 40): Promise<string> {
    const text = await readFile(this.consoleLog, 'utf8').catch(() => '');
    return text.split('\n').slice(-lines).join('\n');
  }

  /** Stops the machine however far it got (nspawn first, then the whole pid namespace) and deletes its copy. */
  async dispose(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.nspawn.exitCode !== null || this.nspawn.signalCode !== null) resolve();
      else this.nspawn.once('exit', () => resolve());
    });
    // SIGTERM makes nspawn ask init to power off; killing init ends every process in the machine.
    this.nspawn.kill('SIGTERM');
    const clean = await Promise.race([exited.then(() => true), delay(15_000).then(() => false)]);
    if (!clean) {
      if (this.initPid > 0) process.kill(this.initPid, 'SIGKILL');
      this.nspawn.kill('SIGKILL');
      await exited;
    }
    if (this.overlay) {
      const umount = await execa('umount', [this.rootDir], { reject: false });
      if (umount.exitCode !== 0) await execa('umount', ['-l', this.rootDir], { reject: false });
    }
    await rm(this.runDir, { recursive: true, force: true });
  }
}

/** Copies `files` into a fresh directory (for binding into a machine); the caller removes it. */
export async function stageDir(prefix: string, files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  for (const [name, from] of Object.entries(files)) await cp(from, join(dir, name), { preserveTimestamps: true });
  return dir;
}
