import { homedir } from 'node:os';
import { DEFAULT_SOCKET, HearthdClient } from '#protocol/client';
import type { SshSide } from '../../user/ssh/ssh-side.js';
import { Terminal } from './terminal/terminal.js';

/** The options every command takes, before or after its verb. */
export interface GlobalOptions {
  socket?: string;
  color?: boolean;
  raw?: boolean;
  json?: boolean;
}

/** Which hearthd: --socket, else HEARTH_SOCKET, else the installed one's. */
export function resolveSocket(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag ?? (env.HEARTH_SOCKET || DEFAULT_SOCKET);
}

/**
 * What a command runs with: the terminal it writes to, hearthd's client (made on first use, so
 * `--help` and `completion` never touch the socket), and the signal Ctrl-C aborts.
 */
export class CliContext {
  readonly terminal: Terminal;
  readonly socketPath: string;
  private clientInstance: HearthdClient | undefined;
  private sshInstance: SshSide | undefined;

  constructor(
    options: GlobalOptions,
    readonly signal: AbortSignal,
    readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.terminal = new Terminal({
      json: options.json ?? false,
      color: options.color ?? true,
      raw: options.raw ?? false,
    });
    this.socketPath = resolveSocket(options.socket, env);
  }

  get client(): HearthdClient {
    this.clientInstance ??= new HearthdClient(this.socketPath);
    return this.clientInstance;
  }

  /**
   * The user's side of SSH: the same key, ssh_config and known_hosts the app keeps. Loaded on first
   * use (its file-system modules cost every start ~1 ms, and most verbs never touch SSH).
   */
  async ssh(): Promise<SshSide> {
    if (this.sshInstance === undefined) {
      const [{ SshSide }, { sshPaths }] = await Promise.all([
        import('../../user/ssh/ssh-side.js'),
        import('../../user/ssh/paths.js'),
      ]);
      this.sshInstance = new SshSide({
        paths: sshPaths(this.env.HOME ?? homedir()),
        listEnvironments: async () => (await this.client.call('listEnvironments')).environments,
        uid: process.getuid?.() ?? null,
      });
    }
    return this.sshInstance;
  }

  async close(): Promise<void> {
    await this.clientInstance?.close();
  }
}
