import { execa } from 'execa';
import type { GitUser } from './git-user.js';

export interface GitRunOptions {
  /** Where the process starts: a directory hearthd itself may enter (git -C moves into the scratch one). */
  cwd: string;
  /** The whole environment: nothing of hearthd's own is inherited. */
  env: Record<string, string>;
  timeoutMs: number;
  /** Written to the process's fd 3, then closed: the one way a secret reaches it (never argv, never env). */
  fd3?: string | undefined;
}

export interface GitRunResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const MAX_OUTPUT = 8 * 1024 * 1024;

/**
 * Runs `file args` as the git user (or as hearthd when it is not root), in a session of its own,
 * without a shell. On timeout the whole process group goes (git's ssh and remote helpers too),
 * and after any exit so does whatever of the group is left.
 */
export async function runAsGitUser(
  user: GitUser | undefined,
  file: string,
  args: string[],
  options: GitRunOptions,
): Promise<GitRunResult> {
  const subprocess = execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: false,
    detached: true,
    reject: false,
    stdio: ['ignore', 'pipe', 'pipe', options.fd3 === undefined ? 'ignore' : 'pipe'],
    maxBuffer: MAX_OUTPUT,
    encoding: 'utf8',
    ...(user && { uid: user.uid, gid: user.gid }),
  });
  const killGroup = () => {
    try {
      if (subprocess.pid !== undefined) process.kill(-subprocess.pid, 'SIGKILL');
    } catch {
      // ESRCH: nothing of the group is left.
    }
  };
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, options.timeoutMs);
  if (options.fd3 !== undefined) {
    const pipe = subprocess.stdio[3] as NodeJS.WritableStream | null;
    pipe?.on('error', () => undefined); // the reader went away early: its exit tells the rest
    pipe?.end(options.fd3);
  }
  try {
    const result = await subprocess;
    return {
      exitCode: result.exitCode,
      stdout: typeof result.stdout === 'string' ? result.stdout : '',
      stderr: typeof result.stderr === 'string' ? result.stderr : '',
      timedOut,
    };
  } finally {
    clearTimeout(timer);
    killGroup();
  }
}
