import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/**
 * One long-running server of the fixture (sshd, the HTTPS backend), started in network namespace
 * `netns` (`ip netns exec` execs it, so the pid is the server's own) or in the caller's, and
 * considered up when `ready` recognises a line of its stdout or stderr.
 */
export class ServerProcess {
  private readonly output: string[] = [];
  private readonly exit: Promise<void>;

  private constructor(
    readonly what: string,
    private readonly child: ChildProcessWithoutNullStreams,
  ) {
    this.exit = once(child, 'exit').then(() => undefined);
  }

  static async start<T>(
    what: string,
    netns: string | undefined,
    argv: [string, ...string[]],
    env: NodeJS.ProcessEnv,
    ready: (line: string) => T | undefined,
    options: { cwd?: string; timeoutMs?: number } = {},
  ): Promise<{ process: ServerProcess; ready: T }> {
    const timeoutMs = options.timeoutMs ?? 20_000;
    const [program, ...args] = netns === undefined ? argv : ['ip', 'netns', 'exec', netns, ...argv];
    const child = spawn(program, args, {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(options.cwd && { cwd: options.cwd }),
    });
    const server = new ServerProcess(what, child);
    const answer = new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${what} not ready in ${timeoutMs} ms: ${server.log()}`)),
        timeoutMs,
      );
      for (const stream of [child.stdout, child.stderr])
        createInterface({ input: stream }).on('line', (line) => {
          server.output.push(line);
          // sshd logs every connection at VERBOSE: keep what a failure message needs, not a day's worth.
          if (server.output.length > 500) server.output.splice(0, server.output.length - 500);
          const value = ready(line);
          if (value !== undefined) {
            clearTimeout(timer);
            resolve(value);
          }
        });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        // Let the last lines arrive before saying why it ended.
        setImmediate(() => reject(new Error(`${what} exited (${String(code ?? signal)}): ${server.log()}`)));
      });
    });
    try {
      return { process: server, ready: await answer };
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
  }

  /** What it printed lately (the last `lines`), for error messages and tests that read its log. */
  log(lines = 50): string {
    return this.output.slice(-lines).join('\n');
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM, then SIGKILL if it has not ended within two seconds; resolves once it has. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2_000);
    await this.exit;
    clearTimeout(timer);
  }
}
