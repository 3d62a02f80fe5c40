import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_SCRIPT } from '../../src/guest/agent-script.js';
import { CREDENTIAL_HELPER_SCRIPT } from '../../src/guest/credential-helper-script.js';

/** The developer user's uid and gid in the agent's world (a passwd and group of the test's own). */
export const DEV_UID = 4242;
export const NOBODY = 65534;
/** The guest's interpreter (the agent's shebang); not a PATH lookup, which may find one only root can run. */
export const PYTHON = '/usr/bin/python3';

/**
 * A guest-like world for the real agent (Python, as the guest runs it), without a VM: its own
 * mount namespace where a passwd and group of the test's own are bound over /etc (a `dev` user
 * with a home under the test's directory), its port a Unix socket (`HEARTH_AGENT_PORT`: the way
 * a vsock connection looks to it) and its relay directory under the test's directory
 * (`HEARTH_AGENT_RUN_DIR`). Everything else — exec as a user, the relays' owners and modes,
 * SO_PEERCRED — is the real thing.
 */
export class AgentWorld {
  private constructor(
    readonly dir: string,
    readonly home: string,
    readonly runDir: string,
    readonly agentFile: string,
    readonly helperFile: string,
    private readonly passwd: string,
    private readonly group: string,
  ) {}

  private readonly agents = new Set<ChildProcess>();
  /** What the agents wrote to stderr (their log). */
  stderr = '';

  static async make(): Promise<AgentWorld> {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-agent-world-'));
    await chmod(dir, 0o755);
    const home = join(dir, 'home', 'dev');
    await mkdir(home, { recursive: true });
    await chown(home, DEV_UID, DEV_UID);
    const passwd = join(dir, 'passwd');
    const group = join(dir, 'group');
    await writeFile(
      passwd,
      `root:x:0:0:root:/root:/bin/bash\ndev:x:${DEV_UID}:${DEV_UID}:Hearth developer:${home}:/bin/bash\n` +
        `nobody:x:${NOBODY}:${NOBODY}:nobody:/nonexistent:/usr/sbin/nologin\n`,
    );
    await writeFile(group, `root:x:0:\ndev:x:${DEV_UID}:\nnogroup:x:${NOBODY}:\n`);
    const agentFile = join(dir, 'hearth-agent');
    await writeFile(agentFile, AGENT_SCRIPT, { mode: 0o755 });
    const helperFile = join(dir, 'git-credential-hearth');
    await writeFile(helperFile, CREDENTIAL_HELPER_SCRIPT, { mode: 0o755 });
    return new AgentWorld(dir, home, join(dir, 'run'), agentFile, helperFile, passwd, group);
  }

  /** Starts an agent whose channel is the Unix socket `port` (it connects, as to vsock). */
  start(port: string): ChildProcess {
    const agent = spawn(
      'unshare',
      [
        ...['--mount', '--fork', '--kill-child', 'sh', '-c'],
        'mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/group && exec /usr/bin/python3 "$3"',
        ...['sh', this.passwd, this.group, this.agentFile],
      ],
      {
        env: { PATH: process.env.PATH, HEARTH_AGENT_PORT: port, HEARTH_AGENT_RUN_DIR: this.runDir, LEAK: 'agent-env' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    agent.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.agents.add(agent);
    agent.once('exit', () => this.agents.delete(agent));
    return agent;
  }

  async stop(agent: ChildProcess): Promise<void> {
    if (agent.exitCode !== null || agent.signalCode !== null) return;
    const exited = new Promise((resolve) => agent.once('exit', resolve));
    // unshare --fork waits out SIGTERM; SIGKILL ends it, and --kill-child the agent with it.
    agent.kill('SIGKILL');
    await exited;
  }

  /**
   * Runs `argv` as uid:gid (no other groups) in a mount namespace where /run/hearth is the
   * agent's relay directory — where the credential helper looks for its socket.
   */
  runAs(
    uid: number,
    gid: number,
    argv: string[],
    input: string,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(
      'unshare',
      [
        ...['--mount', '--fork', 'sh', '-c'],
        'mount -t tmpfs tmpfs /run && mkdir /run/hearth && mount --bind "$1" /run/hearth && shift && exec "$@"',
        ...['sh', this.runDir, 'setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', ...argv],
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdin.end(input);
    return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  }

  async dispose(): Promise<void> {
    for (const agent of [...this.agents]) await this.stop(agent);
    await rm(this.dir, { recursive: true, force: true });
  }
}
