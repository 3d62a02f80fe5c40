import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HearthdClient } from '#protocol/client';
import { asUnit, unitProfile } from './unit-profile.js';
import { eventually } from './eventually.js';

/** The bundled hearthd that `npm run build` produces: the same file the installer ships. */
export const HEARTHD_BUNDLE = join(import.meta.dirname, '..', '..', '..', 'dist', 'helper', 'hearthd.mjs');

export interface HearthdPaths {
  dir: string;
  socket: string;
  stateDir: string;
  runtimeDir: string;
}

export async function makePaths(prefix = 'hearthd-test-'): Promise<HearthdPaths> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  // The VMM user (not root) reaches its kernel, initrd and base disk below here.
  await chmod(dir, 0o711);
  return { dir, socket: join(dir, 'hearthd.sock'), stateDir: join(dir, 'state'), runtimeDir: join(dir, 'run') };
}

/**
 * The user test hearthds run access checks' git and ssh as: a system user of its own, not
 * `nobody` (the VMM user is separate, and the guest rules must treat it like any local user).
 * Created once, idempotently (several test files may race to create it: "exists" is fine).
 */
export const TEST_GIT_USER = 'hearth-test-git';

export function ensureTestGitUser(): void {
  const exists = () =>
    readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .some((l) => l.startsWith(`${TEST_GIT_USER}:`));
  if (exists()) return;
  try {
    execFileSync(
      'useradd',
      ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', TEST_GIT_USER],
      { stdio: 'pipe' },
    );
  } catch (error) {
    if (!exists()) throw error;
  }
}

/** A real hearthd process on a temporary socket, with its output kept for assertions. */
export class HearthdProcess {
  readonly output: string[] = [];
  exitCode: number | null | undefined;
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly paths: HearthdPaths,
  ) {
    const collect = (chunk: Buffer) => this.output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      }),
    );
  }

  /**
   * Starts hearthd without waiting for it (for tests of failing starts). It runs with the node
   * options of the unit's ExecStart; as root, the way the installed unit runs it in every respect:
   * only the unit's capabilities, no new privileges, its umask, and
   * VMMs as a separate unprivileged user (`nobody` unless the test names one), access checks as
   * another (TEST_GIT_USER). `launcher`
   * replaces that prefix (a test that sets up the unit's profile itself).
   */
  static spawn(paths: HearthdPaths, extraArgs: string[] = [], launcher?: string[]): HearthdProcess {
    if (!existsSync(HEARTHD_BUNDLE)) throw new Error(`${HEARTHD_BUNDLE} is missing: run npm run build first`);
    const root = process.getuid?.() === 0;
    const profile = unitProfile();
    const [command, ...prefix] = [...(launcher ?? (root ? asUnit(profile) : [])), process.execPath];
    const vmmUser = root && !extraArgs.includes('--vmm-user') ? ['--vmm-user', 'nobody'] : [];
    const gitUser = root && !extraArgs.includes('--git-user') ? ['--git-user', TEST_GIT_USER] : [];
    if (gitUser.length) ensureTestGitUser();
    // The child inherits the umask in force at spawn(): the unit's, for that one synchronous call.
    const umask = process.umask(root ? profile.umask : 0o022);
    const child = spawn(
      command,
      [
        ...prefix,
        ...profile.nodeOptions,
        HEARTHD_BUNDLE,
        '--socket',
        paths.socket,
        '--state-dir',
        paths.stateDir,
        '--runtime-dir',
        paths.runtimeDir,
        ...vmmUser,
        ...gitUser,
        ...extraArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    process.umask(umask);
    return new HearthdProcess(child, paths);
  }

  /** Starts hearthd and resolves once it answers on its socket. */
  static async start(paths?: HearthdPaths, extraArgs: string[] = [], launcher?: string[]): Promise<HearthdProcess> {
    const daemon = HearthdProcess.spawn(paths ?? (await makePaths()), extraArgs, launcher);
    await daemon.waitUntilServing();
    return daemon;
  }

  client(): HearthdClient {
    return new HearthdClient(this.paths.socket);
  }

  async waitUntilServing(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const client = this.client();
    try {
      await eventually(() => client.call('getVersion'), {
        what: 'hearthd to serve',
        timeoutMs: Math.max(0, deadline - Date.now()),
        intervalMs: 100,
        giveUp: () => (this.exitCode === undefined ? undefined : `hearthd exited with ${this.exitCode}`),
        context: () => this.output.join('\n'),
      });
    } finally {
      await client.close();
    }
  }

  /** Parsed JSON log lines. */
  logs(): Array<Record<string, unknown>> {
    return this.output.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  waitForExit(): Promise<number | null> {
    return this.exited;
  }

  async stop(): Promise<number | null> {
    if (this.exitCode === undefined) this.signal('SIGTERM');
    return this.exited;
  }

  async dispose(): Promise<void> {
    if (this.exitCode === undefined) {
      this.signal('SIGKILL');
      await this.exited;
    }
    await rm(this.paths.dir, { recursive: true, force: true });
  }
}
