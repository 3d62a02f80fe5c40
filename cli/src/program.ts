import { Argument, Command, InvalidArgumentError, Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { createEnvironment } from './commands/create.js';
import { doctor } from './commands/doctor.js';
import { removeEnvironments, restartEnvironments, startEnvironments, stopEnvironments } from './commands/lifecycle.js';
import { showLogs } from './commands/logs.js';
import { listEnvironments } from './commands/ls.js';
import { sshInto } from './commands/ssh.js';
import { sshConfig } from './commands/ssh-config.js';
import { CLI_VERSION, showVersion } from './commands/version.js';
import { COMPLETION_HELP, SHELLS } from './completion/shells.js';
import { examples, EXIT_CODES_HELP } from './help.js';
import { perform } from './perform.js';
import { addManagementVerbs } from './program-manage.js';

const json = () => new Option('--json', "print the result as JSON (the API's own schema)");

function positiveInteger(value: string): number {
  const n = Number(value);
  // InvalidArgumentError: commander reports it as a usage error (exit 2), like any other.
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${JSON.stringify(value)} is not a whole number`);
  return n;
}

/**
 * The command line: every verb, its flags and its help. Each action hands its work to perform(),
 * which owns the context, Ctrl-C and the exit code.
 */
export function buildProgram(): Command {
  const program = new Command('hearth')
    .description('Development environments as VMs on your own Linux workstation.')
    .version(CLI_VERSION, '-V, --version', 'print the version of this command')
    .addHelpText('after', EXIT_CODES_HELP);

  program
    .command('doctor')
    .description('can this machine run environments? each check, and how to fix it')
    .option('--cached', "hearthd's last report instead of probing now")
    .addOption(json())
    .addHelpText('after', examples(['hearth doctor', 'hearth doctor --json | jq .verdict']))
    .action((options, command) => perform(command, (context) => doctor(context, { fresh: options.cached !== true })));

  program
    .command('ls')
    .alias('list')
    .description('list your environments: state, address, live figures')
    .addOption(json())
    .addHelpText('after', examples(['hearth ls', 'hearth ls --json | jq -r ".environments[].name"']))
    .action((_options, command) => perform(command, listEnvironments));

  program
    .command('create')
    .description('create an environment, with a repository in /workspace')
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
    .description('start environments')
    .argument('<env...>', 'environment names (or ids)')
    .addOption(json())
    .addHelpText('after', examples(['hearth start web', 'hearth start web api']))
    .action((names, _options, command) => perform(command, (context) => startEnvironments(context, names)));

  program
    .command('stop')
    .description('stop environments (the guest shuts down cleanly)')
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
    .description('delete environments and their disks')
    .argument('<env...>', 'environment names (or ids)')
    .option('-y, --yes', 'do not ask')
    .addOption(json())
    .addHelpText('after', examples(['hearth rm web', 'hearth rm --yes web api']))
    .action((names, options, command) => perform(command, (context) => removeEnvironments(context, names, options)));

  program
    .command('logs')
    .description("show an environment's console or events, or hearthd's log")
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
    .description('open a shell in an environment, or run a command there')
    .argument('<env>', 'environment name (or id)')
    .argument('[command...]', 'a command to run instead of a shell (after --)')
    .addHelpText('after', examples(['hearth ssh web', 'hearth ssh web -- git -C /workspace/site status']))
    .action((name, remote, _options, command) => perform(command, (context) => sshInto(context, name, remote)));

  program
    .command('ssh-config')
    .description('set up `ssh <name>.hearth` for your own ssh')
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

  // stats, classes, images, access, profile, config: cli/src/program-manage.ts
  addManagementVerbs(program);

  program
    .command('version')
    .description('versions of this command, hearthd and the API')
    .addOption(json())
    .addHelpText('after', examples(['hearth version', 'hearth version --json']))
    .action((_options, command) => perform(command, showVersion));

  // Shell completion, generated from this program (cli/src/completion/): the script embeds the
  // verbs and flags; the hidden __complete prints hearthd's names for it, and nothing on failure.
  program
    .command('completion')
    .description('print the completion script for bash, zsh or fish (verbs, flags and names from hearthd)')
    .addArgument(new Argument('<shell>', 'the shell to complete in').choices(SHELLS))
    .addHelpText('after', COMPLETION_HELP)
    .action((shell, _options, command) =>
      perform(command, async (context) => {
        const { completionScript } = await import('./completion/script.js');
        context.terminal.out(completionScript(shell, program, CLI_VERSION).trimEnd());
        return 0;
      }),
    );
  program
    .command('__complete', { hidden: true })
    .argument('<kind>')
    .action(async (kind, _options, command) => {
      const { printNames } = await import('./completion/names.js');
      await printNames(kind, (command.optsWithGlobals() as { socket?: string }).socket);
    });

  return finish(program);
}

/** The options every verb takes, before or after it (`hearth --socket S ls` = `hearth ls --socket S`). */
function globalOptions(): Option[] {
  return [
    new Option('--socket <path>', "hearthd's socket (default: $HEARTH_SOCKET or /run/hearth/hearthd.sock)"),
    new Option('--no-color', 'no colours (nor with NO_COLOR, or on a pipe)'),
    new Option('--raw', "a guest's text as it is, escape sequences and all"),
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
