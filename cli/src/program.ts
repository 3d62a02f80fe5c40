import { Argument, Command, InvalidArgumentError, Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { createEnvironment } from './commands/create.js';
import { doctor } from './commands/doctor.js';
import { removeEnvironments, restartEnvironments, startEnvironments, stopEnvironments } from './commands/lifecycle.js';
import { showLogs } from './commands/logs.js';
import { listEnvironments } from './commands/ls.js';
import { sshInto } from './commands/ssh.js';
import { sshConfig } from './commands/ssh-config.js';
import { CLI_VERSION, showVersion } from './commands/version.js';
import { addAccess, checkAccess, listAccess, removeAccess, trustHost } from './commands/access.js';
import { listClasses, parseSize, removeClass, setClass } from './commands/classes.js';
import { getConfig, setConfig } from './commands/config.js';
import { downloadImage, listImages, removeImage } from './commands/images.js';
import { buildImage } from './commands/images-build.js';
import { setProfile, showProfile } from './commands/profile.js';
import { showStats } from './commands/stats.js';
import { examples, EXIT_CODES_HELP } from './help.js';
import { perform } from './perform.js';

const json = () => new Option('--json', "print the result as JSON (the API's own schema)");

function positiveInteger(value: string): number {
  const n = Number(value);
  // InvalidArgumentError: commander reports it as a usage error (exit 2), like any other.
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${JSON.stringify(value)} is not a whole number`);
  return n;
}

/** A value parser's complaint as commander's usage error (exit 2). */
function asArgument<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}

/**
 * The command line: every verb, its flags and its help. Each action hands its work to perform(),
 * which owns the context, Ctrl-C and the exit code.
 */
export function buildProgram(): Command {
  const program = new Command('hearth')
    .description('Development environments as VMs on your own Linux workstation, driven by hearthd.')
    .version(CLI_VERSION, '-V, --version', 'print the version of this command')
    .addHelpText('after', EXIT_CODES_HELP);

  program
    .command('doctor')
    .description('check whether this machine can run environments, and how to fix what it cannot')
    .option('--cached', "hearthd's last report instead of probing now")
    .addOption(json())
    .addHelpText('after', examples(['hearth doctor', 'hearth doctor --json | jq .verdict']))
    .action((options, command) => perform(command, (context) => doctor(context, { fresh: options.cached !== true })));

  program
    .command('ls')
    .alias('list')
    .description('list your environments with their state, address and live figures')
    .addOption(json())
    .addHelpText('after', examples(['hearth ls', 'hearth ls --json | jq -r ".environments[].name"']))
    .action((_options, command) => perform(command, listEnvironments));

  program
    .command('create')
    .description('create an environment (and start it), optionally with a repository cloned into /workspace')
    .argument('<name>', 'a DNS label: a-z, 0-9 and inner hyphens; reached as <name>.hearth')
    .option('--repo <url>', 'a repository to clone (https://… or ssh://…, or git@host:path)')
    .option('--ref <ref>', "a branch, tag or full commit to check out (default: the remote's default branch)")
    .option('--image <image>', "the image to boot (default: hearthd's default)")
    .option('--class <class>', 'the class: CPUs, memory and disk (default: the first one hearthd lists)')
    .option('--isolated', 'reach the internet only: not the LAN, the host or other environments')
    .option('--no-start', 'create it without booting it')
    .option('--wait', 'follow it until it runs or fails, with live progress on a terminal')
    .addOption(json())
    .addHelpText(
      'after',
      examples([
        'hearth create web --wait',
        'hearth create site --repo https://github.com/acme/site --ref main --wait',
        'hearth create scratch --class small --isolated --no-start',
      ]),
    )
    .action((name, options, command) => perform(command, (context) => createEnvironment(context, name, options)));

  program
    .command('start')
    .description('start stopped environments')
    .argument('<env...>', 'environment names (or ids)')
    .addOption(json())
    .addHelpText('after', examples(['hearth start web', 'hearth start web api']))
    .action((names, _options, command) => perform(command, (context) => startEnvironments(context, names)));

  program
    .command('stop')
    .description('stop environments (the power button: the guest shuts down cleanly)')
    .argument('<env...>', 'environment names (or ids)')
    .option('--force', 'kill the VM at once instead of asking the guest to shut down')
    .addOption(json())
    .addHelpText('after', examples(['hearth stop web', 'hearth stop --force web']))
    .action((names, options, command) => perform(command, (context) => stopEnvironments(context, names, options)));

  program
    .command('restart')
    .description('stop environments, then start them again')
    .argument('<env...>', 'environment names (or ids)')
    .addOption(json())
    .addHelpText('after', examples(['hearth restart web']))
    .action((names, _options, command) => perform(command, (context) => restartEnvironments(context, names)));

  program
    .command('rm')
    .alias('delete')
    .description('delete environments and their disks (asks first on a terminal)')
    .argument('<env...>', 'environment names (or ids)')
    .option('-y, --yes', 'do not ask')
    .addOption(json())
    .addHelpText('after', examples(['hearth rm web', 'hearth rm --yes web api']))
    .action((names, options, command) => perform(command, (context) => removeEnvironments(context, names, options)));

  program
    .command('logs')
    .description("show an environment's console or event log, or hearthd's own")
    .argument('[env]', 'environment name (or id)')
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .option('-n, --tail <lines>', 'the last N lines (default 200)', positiveInteger)
    .addOption(
      new Option('--source <source>', "console: the VM's serial console; events: what hearthd did").choices([
        'console',
        'events',
      ] as const),
    )
    .option('--hearthd', "hearthd's own log (administrators: all of it; members: what is about their environments)")
    .addOption(json())
    .addHelpText(
      'after',
      examples(['hearth logs web', 'hearth logs web -f --source events', 'hearth logs --hearthd --tail 50']),
    )
    .action((name, options, command) => perform(command, (context) => showLogs(context, name, options)));

  program
    .command('ssh')
    .description('open a shell in an environment, or run a command there, over OpenSSH')
    .argument('<env>', 'environment name (or id)')
    .argument('[command...]', 'a command to run instead of a shell (after --)')
    .addHelpText('after', examples(['hearth ssh web', 'hearth ssh web -- git -C /workspace/site status']))
    .action((name, remote, _options, command) => perform(command, (context) => sshInto(context, name, remote)));

  program
    .command('ssh-config')
    .description("set up `ssh <name>.hearth`: your key, Hearth's ssh_config and the Include in ~/.ssh/config")
    .addArgument(
      new Argument(
        '<action>',
        [
          'setup: make your key if there is none and write ssh_config (prints the public key);',
          'include: add the Include line at the top of ~/.ssh/config (this is your consent);',
          'remove: take that line out again; sync: rewrite ssh_config and known_hosts from hearthd',
        ].join(' '),
      ).choices(['setup', 'include', 'remove', 'sync'] as const),
    )
    .addOption(json())
    .addHelpText('after', examples(['hearth ssh-config setup', 'hearth ssh-config include', 'ssh web.hearth']))
    .action((action, _options, command) => perform(command, (context) => sshConfig(context, action)));

  // --- stats, classes, images, access, profile, config ---
  program
    .command('stats')
    .description("an environment's CPU, memory and disk; live with --watch")
    .argument('<env>', 'environment name (or id)')
    .option('-w, --watch', 'keep showing each new sample (every 2 s while it runs) until Ctrl-C')
    .addOption(json())
    .addHelpText(
      'after',
      examples(['hearth stats web', 'hearth stats web --watch', 'hearth stats web -w --json | jq .vmm.cpuPercent']),
    )
    .action((name, options, command) => perform(command, (context) => showStats(context, name, options)));

  const classes = program
    .command('classes')
    .description('the environment classes: CPUs, memory and disk an environment is created with')
    .addOption(json())
    .addHelpText(
      'after',
      examples([
        'hearth classes',
        'sudo hearth classes set big --cpus 8 --memory 16G --disk 100',
        'hearth classes rm big',
      ]),
    )
    .action((_options, command) => perform(command, listClasses));
  classes
    .command('set')
    .description('administrators: add a class, or change some figures of one (running environments keep theirs)')
    .argument('<name>', 'the class name')
    .option('--cpus <n>', 'virtual CPUs', positiveInteger)
    .option('--memory <size>', 'memory: MiB, or with M/G (4G)', (v) => asArgument(() => parseSize(v, 'MiB')))
    .option('--disk <size>', 'disk: GiB, or with M/G', (v) => asArgument(() => parseSize(v, 'GiB')))
    .option('--description <text>', 'one line shown beside it')
    .addOption(json())
    .addHelpText(
      'after',
      examples([
        'hearth classes set large --cpus 4 --memory 8G --disk 60 --description "builds"',
        'hearth classes set large --memory 12G',
      ]),
    )
    .action((name, options, command) => perform(command, (context) => setClass(context, name, options)));
  classes
    .command('rm')
    .description('administrators: remove a class no environment uses')
    .argument('<name>', 'the class name')
    .addOption(json())
    .addHelpText('after', examples(['hearth classes rm large']))
    .action((name, _options, command) => perform(command, (context) => removeClass(context, name)));

  const images = program
    .command('images')
    .description('images environments boot from: installed, downloadable (the catalog), or built here')
    .option('--available', 'also the catalog: what hearthd can download and verify')
    .addOption(json())
    .addHelpText(
      'after',
      examples([
        'hearth images',
        'hearth images --available',
        'hearth images download debian-12',
        'hearth images build',
      ]),
    )
    .action((options, command) => perform(command, (context) => listImages(context, options)));
  images
    .command('ls')
    .description('list the installed images (--available: and the catalog)')
    .option('--available', 'also the catalog: what hearthd can download and verify')
    .addOption(json())
    .addHelpText('after', examples(['hearth images ls --available --json']))
    .action((_options, command) => perform(command, (context) => listImages(context, command.optsWithGlobals())));
  images
    .command('download')
    .description('administrators: download, verify and install a catalog image, with its progress')
    .argument('<name>', 'a catalog name (hearth images --available)')
    .addOption(json())
    .addHelpText('after', examples(['hearth images download ubuntu-24.04', 'hearth images download debian-12 --json']))
    .action((name, _options, command) => perform(command, (context) => downloadImage(context, name)));
  images
    .command('build')
    .description('build the local Debian image as root, as the app does (sudo asks for your password on a terminal)')
    .addHelpText('after', examples(['hearth images build']))
    .action((_options, command) => perform(command, buildImage));
  images
    .command('rm')
    .description('administrators: remove an image no environment uses')
    .argument('<name>', 'the image name')
    .addOption(json())
    .addHelpText('after', examples(['hearth images rm ubuntu-24.04']))
    .action((name, _options, command) => perform(command, (context) => removeImage(context, name)));

  const access = program
    .command('access')
    .description('your repository access: tokens and SSH keys per Git host, and checks that they work (alone: ls)')
    .addOption(json())
    .action((_options, command) => perform(command, listAccess));
  access
    .command('ls')
    .description('your credentials (never their secrets)')
    .addOption(json())
    .addHelpText('after', examples(['hearth access ls']))
    .action((_options, command) => perform(command, listAccess));
  access
    .command('add')
    .description('add a personal access token (asked for, or read from stdin) or an SSH key hearthd makes')
    .argument('<host>', 'the Git host as in repository URLs: github.com, git.example.com:8443')
    .option('--token-stdin', 'read the token from stdin instead of asking (never give it as an argument)')
    .option('--ssh-key', 'have hearthd generate a key pair; prints the public key to add to the host')
    .option('--username <name>', 'the user name sent with the token (Bitbucket, Azure DevOps)')
    .option('--ca-cert <file>', "a PEM file of the CA that signed a self-hosted server's certificate")
    .addOption(json())
    .addHelpText(
      'after',
      examples([
        'hearth access add github.com',
        'pass show github | hearth access add github.com --token-stdin',
        'hearth access add gitlab.com --ssh-key',
      ]),
    )
    .action((host, options, command) => perform(command, (context) => addAccess(context, host, options)));
  access
    .command('check')
    .description('check that your credential reaches a repository: its branches, default branch and commit')
    .argument('<url>', 'https://host/owner/repo or git@host:owner/repo')
    .option('--ref <ref>', 'a branch, tag or commit that must exist')
    .addOption(json())
    .addHelpText(
      'after',
      examples([
        'hearth access check https://github.com/acme/site',
        'hearth access check git@github.com:acme/site.git --ref main',
      ]),
    )
    .action((url, options, command) => perform(command, (context) => checkAccess(context, url, options)));
  access
    .command('trust')
    .description("trust the key a repository's SSH host offers, after you compare its fingerprint")
    .argument('<url>', 'an SSH repository URL on that host')
    .option('--fingerprint <sha256>', 'the fingerprint you expect (SHA256:…): trust without asking, only if it matches')
    .addOption(json())
    .addHelpText(
      'after',
      examples([
        'hearth access trust git@git.example.com:team/app.git',
        'hearth access trust ssh://git@git.example.com/team/app --fingerprint SHA256:…',
      ]),
    )
    .action((url, options, command) => perform(command, (context) => trustHost(context, url, options)));
  access
    .command('rm')
    .description('remove a credential: environments stop receiving it at once')
    .argument('<id|host>', 'its id (hearth access ls), or the host when you have one credential there')
    .addOption(json())
    .addHelpText('after', examples(['hearth access rm github.com', 'hearth access rm cred-0123456789ab']))
    .action((which, _options, command) => perform(command, (context) => removeAccess(context, which)));

  const profile = program
    .command('profile')
    .description('your git name and email: commits in your new environments are made with them')
    .addOption(json())
    .addHelpText(
      'after',
      examples(['hearth profile', 'hearth profile set --name "Ada Lovelace" --email ada@example.com']),
    )
    .action((_options, command) => perform(command, showProfile));
  profile
    .command('set')
    .description('set your git name and/or email (an empty value clears it)')
    .option('--name <name>', 'user.name')
    .option('--email <email>', 'user.email')
    .addOption(json())
    .addHelpText('after', examples(['hearth profile set --email ada@example.com']))
    .action((options, command) => perform(command, (context) => setProfile(context, options)));

  const config = program
    .command('config')
    .description("hearthd's settings (administrators change them; alone: get)")
    .addOption(json())
    .action((_options, command) => perform(command, (context) => getConfig(context, undefined)));
  config
    .command('get')
    .description('all settings, or one')
    .argument('[key]', 'a setting name, such as maxEnvironments')
    .addOption(json())
    .addHelpText('after', examples(['hearth config get', 'hearth config get hypervisor', 'hearth config get --json']))
    .action((key, _options, command) => perform(command, (context) => getConfig(context, key)));
  config
    .command('set')
    .description('change one setting; hearthd saves it atomically and applies it at once')
    .argument('<key>', 'a setting name (hearth config get lists them)')
    .argument('<value>', "the new value, converted to the setting's type")
    .addOption(json())
    .addHelpText(
      'after',
      examples(['sudo hearth config set maxEnvironments 4', 'sudo hearth config set hypervisor qemu']),
    )
    .action((key, value, _options, command) => perform(command, (context) => setConfig(context, key, value)));

  program
    .command('version')
    .description('print the versions of this command, hearthd and the API')
    .addOption(json())
    .addHelpText('after', examples(['hearth version', 'hearth version --json']))
    .action((_options, command) => perform(command, showVersion));

  return finish(program);
}

/** The options every verb takes, before or after it (`hearth --socket S ls` = `hearth ls --socket S`). */
function globalOptions(): Option[] {
  return [
    new Option('--socket <path>', "hearthd's socket (default: $HEARTH_SOCKET, else /run/hearth/hearthd.sock)"),
    new Option('--no-color', 'no colours (also when NO_COLOR is set, or output is not a terminal)'),
    new Option('--raw', "print a guest's text as it is, escape sequences and all"),
  ];
}

/** Every verb gets the global options, usage errors that exit 2, and the same help layout. */
function finish(program: Command): Command {
  const visit = (command: CommandUnknownOpts) => {
    command.exitOverride();
    command.showHelpAfterError('(run with --help for usage)');
    command.configureHelp({ showGlobalOptions: command !== program, sortSubcommands: false });
    if (command === program) for (const option of globalOptions()) command.addOption(option);
    command.commands.forEach(visit);
  };
  visit(program);
  return program;
}
