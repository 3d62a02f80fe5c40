import { once } from 'node:events';
import { HOST_SUFFIX } from '../../../user/ssh/ssh-config.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';

/**
 * One argument as the guest's login shell reads it back unchanged: ssh sends the remote command as
 * one string, so `hearth ssh web -- sh -c 'exit 7'` would otherwise run `sh -c exit 7`. POSIX
 * single quotes take everything literally; a single quote itself is closed, escaped and reopened.
 */
export function shellWord(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * `hearth ssh <env> [-- cmd…]`: OpenSSH with Hearth's own ssh_config (rewritten from hearthd
 * first), so the key, the address and the pinned host keys are Hearth's whatever ~/.ssh/config
 * says, and host keys are checked strictly. The exit code is ssh's, which is the remote command's.
 */
export async function sshInto(context: CliContext, name: string, command: readonly string[]): Promise<number> {
  const ssh = await context.ssh();
  const { publicKey } = await ssh.setup();
  if (publicKey === null)
    throw new CliError('you have no Hearth SSH key yet', ExitCode.failed, 'make one: hearth ssh-config setup');
  const env = await context.client.call('getEnvironment', { params: { id: name } });
  const hosts = await ssh.sync();
  const host = `${env.name}${HOST_SUFFIX}`;
  if (!hosts.includes(host)) {
    throw new CliError(
      env.ssh === null
        ? `${env.name} cannot be reached over SSH (its image has no network or no key was given at create)`
        : `${env.name} is not yours to SSH into`,
    );
  }
  if (env.state !== 'running') context.terminal.say(`${env.name} is ${env.state}; ssh may not get an answer yet.`);
  // The person at the terminal talks to ssh now; Ctrl-C is for the remote side.
  // spawn, not execa: the terminal is handed over as it is (stdio inherited), nothing is captured.
  const { spawn } = await import('node:child_process');
  // The command's words reach the guest as they are, as with `kubectl exec` or `limactl shell`;
  // shell syntax is asked for explicitly: hearth ssh web -- sh -c 'make && make test'.
  const remote = command.length > 0 ? ['--', command.map(shellWord).join(' ')] : [];
  const child = spawn('ssh', ['-F', ssh.paths.config, host, ...remote], {
    stdio: 'inherit',
  });
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  return code ?? (signal === 'SIGINT' ? ExitCode.interrupted : ExitCode.failed);
}
