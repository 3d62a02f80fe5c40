import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { FormatRegistry, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { execa } from 'execa';
import { expect } from 'vitest';
import type { Member } from '../../../e2e/support/member-bridge.js';

import { HEARTH_CLI as CLI } from './hearth-cli.js';

const REPO = join(import.meta.dirname, '..', '..', '..');

export { CLI };

/** What a test may add: stdin kept open for it to write, or given whole. */
export interface RunOptions {
  stdin?: 'pipe';
  input?: string;
}

/** What a test reads of a run: the process while it runs, its outcome once it ended (never a rejection). */
export type Run = Promise<{ exitCode?: number | undefined; stdout: string; stderr: string }> & {
  pid?: number | undefined;
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
  kill(signal?: NodeJS.Signals): boolean;
};

/** Resolves with the output once `pattern` appears on the run's stdout (a follower has started). */
export function untilStdout(run: Run, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  return untilOutput(run, 'stdout', pattern, timeoutMs);
}

/** The same on stdout or stderr. */
export function untilOutput(
  run: Run,
  stream: 'stdout' | 'stderr',
  pattern: RegExp,
  timeoutMs = 20_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`no ${String(pattern)} on ${stream} in ${timeoutMs} ms: ${seen}`)),
      timeoutMs,
    );
    run[stream]?.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve(seen);
      }
    });
  });
}

/** What a login gives a person, and nothing of the test runner's environment. */
function loginEnv(home: string, user: string): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, USER: user, LANG: 'C.UTF-8' };
}

/** `hearth <args> --socket <socket>` as root (an administrator). */
export function hearthAsRoot(socket: string, args: readonly string[], options: RunOptions = {}): Run {
  return execa(process.execPath, [CLI, ...args, '--socket', socket], {
    cwd: REPO,
    extendEnv: false,
    env: loginEnv('/root', 'root'),
    reject: false,
    ...options,
  });
}

/** The same as a non-root hearth member (setpriv to their uid, groups from /etc/group). */
export function hearthAsMember(member: Member, socket: string, args: readonly string[], options: RunOptions = {}): Run {
  const identity = [`--reuid=${member.uid}`, `--regid=${member.gid}`, '--init-groups', '--'];
  return execa('setpriv', [...identity, process.execPath, CLI, ...args, '--socket', socket], {
    cwd: REPO,
    extendEnv: false,
    env: loginEnv(member.home, member.name),
    reject: false,
    ...options,
  });
}

/**
 * The argv under a pseudo-terminal (Python's pty module: stdout and stderr are a terminal, as
 * for a person), its output as the terminal received it.
 */
export function underPty(argv: readonly string[], env: Record<string, string> = {}): Run {
  const script = 'import pty, sys\nstatus = pty.spawn(sys.argv[1:])\nsys.exit(status >> 8)';
  return execa('python3', ['-c', script, ...argv], {
    cwd: REPO,
    extendEnv: false,
    env: { ...loginEnv('/root', 'root'), TERM: 'xterm', ...env },
    reject: false,
    stdin: 'ignore',
  });
}

// TypeBox checks a `format` only when one is registered: the contract's timestamps are RFC 3339.
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
if (!FormatRegistry.Has('date-time'))
  FormatRegistry.Set('date-time', (value) => RFC3339.test(value) && !Number.isNaN(Date.parse(value)));

/** `Value.Check(schema, value)`, failing with TypeBox's first complaint (path and message). */
export function expectValid(schema: TSchema, value: unknown): void {
  const first = Value.Errors(schema, value).First();
  expect(first === undefined ? 'valid' : `${first.path}: ${first.message}`).toBe('valid');
  expect(Value.Check(schema, value)).toBe(true);
}

/**
 * A person typing at a terminal: runs argv under a pseudo-terminal, and once `prompt` has shown,
 * types what the driver reads from its own stdin (so it is in no argv or environment), then
 * Enter. Resolves with the transcript: everything the terminal showed.
 */
export function typeAtPrompt(argv: readonly string[], prompt: string, typed: string): Run {
  const driver = `
import os, pty, select, sys, time
typed = sys.stdin.buffer.readline().rstrip(b'\\n')
prompt = sys.argv[1].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
out, sent = b'', False
while True:
    ready, _, _ = select.select([fd], [], [], 20)
    if not ready:
        break
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
    if not sent and prompt in out:
        time.sleep(0.2)
        os.write(fd, typed + b'\\r')
        sent = True
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
`;
  return execa('python3', ['-c', driver, prompt, ...argv], {
    cwd: REPO,
    extendEnv: false,
    env: { ...loginEnv('/root', 'root'), TERM: 'xterm' },
    reject: false,
    input: `${typed}\n`,
  });
}
