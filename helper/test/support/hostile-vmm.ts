import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** `nobody`, the VMM user hearthd-process.ts gives hearthd by default. */
export const VMM_UID = 65534;

const SCRIPT = join(import.meta.dirname, 'hostile-vmm-user.py');
/** The VMM user's own rights only: its uid and gid, no supplementary groups, no capabilities. */
const AS_VMM_USER = ['--reuid', String(VMM_UID), '--regid', String(VMM_UID), '--clear-groups', '/usr/bin/python3'];

/** errno names a refused attempt may give: no write permission on root's directory, or the kernel's link protection. */
export const REFUSED = ['EACCES', 'EPERM'];

export type Outcome = string;
export interface ProbeResult {
  uid: number;
  paths: Record<string, Record<string, Outcome>>;
  dirs: Record<string, Record<string, Outcome>>;
  sockets: Record<string, Outcome>;
}

/** One run of the hostile script as the VMM user; its last stdout line is its JSON result. */
export async function asVmmUser<T>(command: 'probe' | 'kill', args: unknown): Promise<T> {
  const { stdout } = await run('setpriv', [...AS_VMM_USER, SCRIPT, command, JSON.stringify(args)], {
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
}

export interface FloodResult {
  uid: number;
  written_mib: Record<string, number>;
  sparse: Record<string, Outcome>;
  reopened: Record<string, Outcome>;
}

/** A background writer as the VMM user; `stop` ends it (it then writes `HOSTILE-END`) and returns what it did. */
export interface Flood {
  started: string[];
  stop(): Promise<FloodResult>;
  /** Ends it at once (test cleanup). */
  kill(): void;
}

export async function startFlood(args: {
  pid: number;
  fds_to: string[];
  paths: string[];
  max_mib: number;
  sparse: boolean;
}): Promise<Flood> {
  const child = spawn('setpriv', [...AS_VMM_USER, SCRIPT, 'flood', JSON.stringify(args)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) throw new Error(`the flood did not start: ${stderr}`);
  const { started } = JSON.parse(first.value) as { started: string[] };
  return {
    started,
    kill: () => child.kill('SIGKILL'),
    stop: async () => {
      child.kill('SIGTERM');
      const last = await lines.next();
      if (last.done) throw new Error(`the flood ended without a result: ${stderr}`);
      return JSON.parse(last.value) as FloodResult;
    },
  };
}

/**
 * Every path the VMM user owns below `roots`, as root finds them: `find -xdev -uid`. Errors for
 * entries that vanish during the walk (a VMM's files come and go) are not failures.
 */
export async function findVmmOwned(roots: string[]): Promise<string[]> {
  let stdout: string;
  try {
    ({ stdout } = await run('find', [...roots, '-xdev', '-uid', String(VMM_UID), '-print'], {
      maxBuffer: 16 * 1024 * 1024,
    }));
  } catch (error) {
    stdout = (error as { stdout?: string }).stdout ?? '';
  }
  return stdout.split('\n').filter(Boolean).sort();
}

/** hearthd's resident memory, in MiB. */
export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]) / 1024;
}

/** How long `action` takes, with its value. */
export async function timed<T>(action: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await action();
  return { ms: Math.round(performance.now() - started), value };
}
