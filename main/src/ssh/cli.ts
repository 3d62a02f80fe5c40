import { homedir } from 'node:os';
import { parseArgs } from 'node:util';
import { DEFAULT_SOCKET, HearthdClient } from '#protocol/client';
import { sshPaths } from './paths.js';
import { SshSide } from './ssh-side.js';

/**
 * `npm run ssh -- setup|sync|include [--remove]|key`: the app's SSH setup for a user without the
 * app (and for the integration test). It runs as the user, talks to hearthd's socket with the
 * typed client, and writes exactly the files the app writes.
 */

const USAGE = `usage: npm run ssh -- <command> [--socket PATH] [--home DIR]
  setup             make the key pair if there is none, write ssh_config; prints the public key
  sync              rewrite ~/.config/hearth/ssh_config and known_hosts from hearthd
  include           add "Include …/ssh_config" at the top of ~/.ssh/config (this is your consent)
  include --remove  take that line out again
  key               print the public key (exit 1 if there is none)`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      socket: { type: 'string', default: process.env.HEARTH_SOCKET ?? DEFAULT_SOCKET },
      home: { type: 'string', default: homedir() },
      remove: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command] = positionals;
  if (values.help || command === undefined || positionals.length > 1) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const client = new HearthdClient(values.socket);
  const side = new SshSide({
    paths: sshPaths(values.home),
    listEnvironments: async () => (await client.call('listEnvironments')).environments,
    uid: process.getuid?.() ?? null,
  });
  const say = (line: string) => process.stderr.write(`${line}\n`);
  try {
    switch (command) {
      case 'setup': {
        const setup = await side.createKey();
        const hosts = await side.sync();
        say(`key: ${setup.keyPath}`);
        say(`wrote ${setup.configPath}: ${hosts.length === 0 ? 'no environments yet' : hosts.join(', ')}`);
        if (setup.include !== 'present') say(`to use it as "ssh <name>.hearth": npm run ssh -- include`);
        process.stdout.write(`${setup.publicKey}\n`);
        return 0;
      }
      case 'sync': {
        const hosts = await side.sync();
        say(`wrote ${side.paths.config}: ${hosts.length === 0 ? 'no environments' : hosts.join(', ')}`);
        return 0;
      }
      case 'include': {
        const setup = await side.setInclude(!values.remove);
        say(
          `${setup.userConfigPath}: ${setup.include === 'present' ? `starts with ${setup.includeLine}` : 'no Hearth Include'}`,
        );
        return 0;
      }
      case 'key': {
        const { publicKey } = await side.setup();
        if (publicKey === null) {
          say('no key yet: npm run ssh -- setup');
          return 1;
        }
        process.stdout.write(`${publicKey}\n`);
        return 0;
      }
      default:
        process.stderr.write(`unknown command ${JSON.stringify(command)}\n${USAGE}\n`);
        return 2;
    }
  } finally {
    await client.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`hearth ssh: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
