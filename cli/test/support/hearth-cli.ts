import { join } from 'node:path';
import { execa } from 'execa';

const REPO = join(import.meta.dirname, '..', '..', '..');
/** The bundled command that `npm run build` produces: the file the packages ship. */
export const HEARTH_CLI = join(REPO, 'dist', 'cli', 'hearth.cjs');
const PTY_RUN = join(import.meta.dirname, 'pty-run.py');

export interface HearthRun {
  /** A hearth group member to run as (setpriv), instead of root. */
  as?: { uid: number; gid: number; home: string };
  /** Added to a clean environment (PATH, HOME, LANG only: nothing of the test runner's). */
  env?: Record<string, string>;
  /** On a pseudo-terminal: stdout and stderr arrive together, as a person sees them. */
  tty?: boolean;
  input?: string;
  timeout?: number;
}

/**
 * The real `hearth` as a subprocess: the bundled file on this Node, with the socket given the way
 * a user gives it. Returns execa's process (a promise of its result, and `kill` for Ctrl-C).
 */
export function hearth(socket: string | null, args: readonly string[], options: HearthRun = {}) {
  const command = [process.execPath, HEARTH_CLI, ...(socket === null ? [] : ['--socket', socket]), ...args];
  const asUser = options.as
    ? ['setpriv', `--reuid=${options.as.uid}`, `--regid=${options.as.gid}`, '--init-groups', '--']
    : [];
  const argv = [...asUser, ...(options.tty === true ? ['python3', PTY_RUN] : []), ...command];
  return execa(argv[0]!, argv.slice(1), {
    reject: false,
    extendEnv: false,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: options.as?.home ?? process.env.HOME ?? '/root',
      LANG: 'C.UTF-8',
      TERM: 'xterm-256color',
      ...options.env,
    },
    timeout: options.timeout ?? 120_000,
    input: options.input ?? '',
  });
}

/** Any terminal control sequence or carriage return: what must never reach a pipe. */
// eslint-disable-next-line no-control-regex
export const CONTROL = /[\u001b\r]/;
