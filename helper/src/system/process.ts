import { spawn } from 'node:child_process';
import { open, readFile, readdir } from 'node:fs/promises';
import { isMissing } from './host-root.js';

/** What /proc says about a process; undefined when it is gone (or a zombie: it has exited). */
export interface ProcessInfo {
  pid: number;
  /** argv, as /proc/<pid>/cmdline has it. */
  argv: string[];
  /** Clock ticks after boot when it started: with the pid, identifies the process for good. */
  startTime: number;
}

export async function processInfo(pid: number): Promise<ProcessInfo | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may hold spaces and parentheses; everything after the last ')' is fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    if (state === 'Z' || state === 'X') return undefined;
    const startTime = Number(fields[19]);
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
    if (argv.length === 0) return undefined; // kernel thread or exiting
    return { pid, argv, startTime };
  } catch (error) {
    if (isMissing(error) || (error as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
    throw error;
  }
}

/** Every live process whose argv mentions `needle` (used to find VMMs a crash left without a pid file). */
export async function findProcesses(needle: string): Promise<ProcessInfo[]> {
  const found: ProcessInfo[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const info = await processInfo(Number(entry)).catch(() => undefined);
    if (info?.argv.some((arg) => arg.includes(needle))) found.push(info);
  }
  return found;
}

/** SIGKILL, then wait (briefly) until /proc no longer shows it. */
export async function killProcess(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitForExit(pid, 2_000);
}

/**
 * Whether `pid` has let go of everything it held: gone, or a zombie. Not "its cmdline is empty":
 * the kernel releases a dying process's memory (and so its cmdline) before its files, so a
 * listening socket or a TAP can still be held after processInfo() stops seeing it.
 */
export async function hasExited(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state === 'Z' || state === 'X';
  } catch (error) {
    if (isMissing(error) || (error as NodeJS.ErrnoException).code === 'ESRCH') return true;
    throw error;
  }
}

/** Polls until `pid` has exited (hasExited) or `ms` have passed; true when it has. */
export async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!(await hasExited(pid))) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface DetachedProcess {
  pid: number;
  startTime: number;
  /** Resolves when it exits, while this hearthd is its parent (not after a restart). */
  exited: Promise<ExitStatus>;
}

export interface LaunchOptions {
  /** stdout and stderr of the VMM go here (appended). */
  outputFile: string;
  uid?: number;
  gid?: number;
  /** Added to the VMM's minimal environment. */
  env?: Record<string, string>;
  /** Open fds handed to the VMM as its fds 3, 4, … (its sockets and files; it gets no paths to them). */
  fds?: number[];
  /** Throws when `binary` may no longer be run; called as late as possible before the exec. */
  verify?: ((binary: string) => Promise<void>) | undefined;
}

/**
 * Starts `binary args` in its own session (setsid), so it is neither killed with hearthd nor by
 * a terminal's signals, and outlives a restart of hearthd. No shell is involved.
 */
export async function launchDetached(binary: string, args: string[], options: LaunchOptions): Promise<DetachedProcess> {
  const output = await open(options.outputFile, 'a', 0o600);
  try {
    await options.verify?.(binary);
    const child = spawn(binary, args, {
      detached: true,
      stdio: ['ignore', output.fd, output.fd, ...(options.fds ?? [])],
      env: { LC_ALL: 'C', PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...options.env },
      ...(options.uid !== undefined && { uid: options.uid }),
      ...(options.gid !== undefined && { gid: options.gid }),
    });
    const exited = new Promise<ExitStatus>((resolve) => {
      child.once('exit', (code, signal) => {
        resolve({ code, signal });
      });
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => {
        resolve(child.pid!);
      });
    });
    child.unref();
    const info = await processInfo(pid);
    return { pid, startTime: info?.startTime ?? 0, exited };
  } finally {
    await output.close();
  }
}

export function describeExit(status: ExitStatus): string {
  if (status.signal) return `VMM exited on signal ${status.signal}`;
  return `VMM exited with code ${status.code ?? 'unknown'}`;
}
