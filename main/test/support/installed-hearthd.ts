/**
 * What the installed-unit test does inside its machine: run hearth-install.sh as the app would,
 * call hearthd's socket with curl as a given user, and read the machine's processes and files.
 */
import type { Environment, EnvironmentState } from '#protocol';
import type { ExecOptions, NspawnMachine } from './nspawn-machine.js';
import { eventually } from '../../../helper/test/support/eventually.js';

export const SOCKET = '/run/hearth/hearthd.sock';

/** The `::step` ids and `::result` of a run of the install script, plus whether it finished. */
export interface ScriptRun {
  exitCode: number;
  output: string;
  steps: string[];
  results: Record<string, string>;
  done: boolean;
}

export async function runInstallScript(machine: NspawnMachine, script: string, args: string[]): Promise<ScriptRun> {
  const run = await machine.exec(['/bin/bash', script, ...args], { timeoutMs: 180_000 });
  const output = `${run.stdout}\n${run.stderr}`;
  return {
    exitCode: run.exitCode,
    output,
    steps: [...run.stdout.matchAll(/^::step (\S+)/gm)].map((m) => m[1]!),
    results: Object.fromEntries(
      [...run.stdout.matchAll(/^::result (\S+) (.*)$/gm)].map((m): [string, string] => [m[1]!, m[2]!]),
    ),
    done: /^::done /m.test(run.stdout),
  };
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

/** One HTTP request to hearthd through curl inside the machine; status 0 when curl could not connect. */
export async function api(
  machine: NspawnMachine,
  as: ExecOptions,
  method: string,
  path: string,
  body?: unknown,
): Promise<ApiResponse & { curlError: string }> {
  const args = ['curl', '-sS', '--max-time', '30', '--unix-socket', SOCKET, '-X', method, '-w', '\n%{http_code}'];
  if (body !== undefined) args.push('-H', 'content-type: application/json', '--data-binary', JSON.stringify(body));
  const run = await machine.exec([...args, `http://hearthd${path}`], as);
  const cut = run.stdout.lastIndexOf('\n');
  const status = Number(run.stdout.slice(cut + 1));
  const text = run.stdout.slice(0, Math.max(cut, 0));
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: keep the text for the assertion message.
  }
  return { status: run.exitCode === 0 ? status : 0, body: parsed, curlError: run.stderr.trim() };
}

/** api() that fails with the response unless the status is 2xx. */
export async function apiOk<T>(
  machine: NspawnMachine,
  as: ExecOptions,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await api(machine, as, method, path, body);
  if (response.status < 200 || response.status > 299) {
    const detail = response.status >= 500 ? `\nhearthd's journal:\n${await journal(machine)}` : '';
    throw new Error(
      `${method} ${path} → ${response.status} ${response.curlError} ${JSON.stringify(response.body)}${detail}`,
    );
  }
  return response.body as T;
}

/** The end of hearthd's journal, for failure messages: hearthd's API hides internal errors' details. */
export async function journal(machine: NspawnMachine, lines = 15): Promise<string> {
  const read = await machine.exec(['journalctl', '-u', 'hearthd', '-n', String(lines), '--no-pager', '-o', 'cat']);
  return read.stdout;
}

/** Polls the environment until it is in `state`; a `failed` environment fails at once, with its reason. */
export async function waitForState(
  machine: NspawnMachine,
  as: ExecOptions,
  name: string,
  state: EnvironmentState,
  timeoutMs: number,
): Promise<Environment> {
  let last: Environment | undefined;
  return eventually(
    async () => {
      last = await apiOk<Environment>(machine, as, 'GET', `/v1/environments/${name}`);
      return last.state === state ? last : undefined;
    },
    {
      what: `${name} to be ${state}`,
      timeoutMs,
      intervalMs: 250,
      giveUp: () => (last?.state === 'failed' ? `it failed: ${last.reason ?? 'no reason given'}` : undefined),
      context: async () =>
        `it is ${last?.state ?? 'unknown'}: ${last?.reason ?? 'no reason given'}\nhearthd's journal:\n${await journal(machine)}`,
    },
  );
}

/** A process of the machine (pid in its namespace): uid and NoNewPrivs/Seccomp/CapBnd from /proc/<pid>/status. */
export async function processStatus(machine: NspawnMachine, pid: number): Promise<Record<string, string> | undefined> {
  const read = await machine.exec(['cat', `/proc/${pid}/status`]);
  if (read.exitCode !== 0) return undefined;
  const fields = Object.fromEntries(
    read.stdout
      .split('\n')
      .map((line) => /^([^:]+):\s*(.*)$/.exec(line))
      .filter((m) => m !== null)
      .map((m): [string, string] => [m[1]!, m[2]!]),
  );
  return fields.State?.startsWith('Z') ? undefined : fields;
}

/** Pids of live processes of the machine whose real uid is `uid`. */
export async function pidsOfUid(machine: NspawnMachine, uid: number): Promise<number[]> {
  const listing = await machine.ok(['find', '/proc', '-maxdepth', '1', '-regex', '/proc/[0-9]+', '-uid', String(uid)]);
  const pids: number[] = [];
  for (const line of listing.split('\n').filter(Boolean)) {
    const pid = Number(line.slice('/proc/'.length));
    if (await processStatus(machine, pid)) pids.push(pid);
  }
  return pids;
}

/** The bounding-set mask (CapBnd in /proc/<pid>/status) of a CapabilityBoundingSet= line. */
export function capabilityMask(names: string[]): bigint {
  const numbers: Record<string, number> = {
    CAP_CHOWN: 0,
    CAP_DAC_OVERRIDE: 1,
    CAP_DAC_READ_SEARCH: 2,
    CAP_FOWNER: 3,
    CAP_FSETID: 4,
    CAP_KILL: 5,
    CAP_SETGID: 6,
    CAP_SETUID: 7,
    CAP_SETPCAP: 8,
    CAP_NET_BIND_SERVICE: 10,
    CAP_NET_ADMIN: 12,
    CAP_NET_RAW: 13,
    CAP_IPC_LOCK: 14,
    CAP_SYS_CHROOT: 18,
    CAP_SYS_PTRACE: 19,
    CAP_SYS_ADMIN: 21,
    CAP_SYS_RESOURCE: 24,
  };
  return names.reduce((mask, name) => {
    const bit = numbers[name];
    if (bit === undefined) throw new Error(`capabilityMask does not know ${name}: add its number`);
    return mask | (1n << BigInt(bit));
  }, 0n);
}

/**
 * Every path below `dirs` with type, mode and owner, plus a hash of each file under /etc:
 * to show an uninstall left the machine as it found it.
 */
export async function snapshot(machine: NspawnMachine, dirs: string[]): Promise<Map<string, string>> {
  const listing = await machine.ok(['find', ...dirs, '-xdev', '-printf', '%p\t%y %m %u:%g\n']);
  const out = new Map(
    listing
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('\t') as [string, string]),
  );
  const sums = await machine.ok(['find', '/etc', '-xdev', '-type', 'f', '-exec', 'md5sum', '{}', '+']);
  for (const line of sums.split('\n').filter(Boolean)) {
    const [sum, path] = line.split(/\s+/, 2) as [string, string];
    out.set(path, `${out.get(path) ?? ''} ${sum}`);
  }
  return out;
}
