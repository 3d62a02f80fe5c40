import type { CliSshSync } from '#protocol';
import type { CliContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';

/**
 * `hearth ssh-config setup|include|remove|sync`: the app's SSH setup for a terminal. It runs as
 * the user and writes exactly the files the app writes (user/ssh).
 */
export async function sshConfig(
  context: CliContext,
  action: 'setup' | 'include' | 'remove' | 'sync',
): Promise<ExitCode> {
  const { terminal } = context;
  const ssh = await context.ssh();
  switch (action) {
    case 'setup': {
      const setup = await ssh.createKey();
      const hosts = await ssh.sync();
      terminal.say(`key: ${setup.keyPath}`);
      terminal.say(`wrote ${setup.configPath}: ${hosts.length === 0 ? 'no environments yet' : hosts.join(', ')}`);
      if (setup.include !== 'present') terminal.say('to use it as "ssh <name>.hearth": hearth ssh-config include');
      if (terminal.json) terminal.data(setup);
      else terminal.out(setup.publicKey ?? '');
      return ExitCode.ok;
    }
    case 'sync': {
      const hosts = await ssh.sync();
      if (terminal.json) terminal.data({ hosts } satisfies CliSshSync);
      else terminal.say(`wrote ${ssh.paths.config}: ${hosts.length === 0 ? 'no environments' : hosts.join(', ')}`);
      return ExitCode.ok;
    }
    case 'include':
    case 'remove': {
      const setup = await ssh.setInclude(action === 'include');
      if (terminal.json) terminal.data(setup);
      else
        terminal.say(
          `${setup.userConfigPath}: ${setup.include === 'present' ? `starts with ${setup.includeLine}` : 'no Hearth Include'}`,
        );
      return ExitCode.ok;
    }
  }
}
