import { InvalidArgumentError, Option, type Command } from '@commander-js/extra-typings';
import { addAccess, checkAccess, listAccess, removeAccess, trustHost } from './commands/access.js';
import { listClasses, parseSize, removeClass, setClass } from './commands/classes.js';
import { getConfig, setConfig } from './commands/config.js';
import { downloadImage, listImages, removeImage } from './commands/images.js';
import { buildImage } from './commands/images-build.js';
import { setProfile, showProfile } from './commands/profile.js';
import { showStats } from './commands/stats.js';
import { examples } from './help.js';
import { perform } from './perform.js';

const json = () => new Option('--json', "print the result as JSON (the API's own schema)");

/** A value parser's complaint as commander's usage error (exit 2), like any other. */
function asArgument<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${JSON.stringify(value)} is not a whole number`);
  return n;
}

/**
 * The verbs about what environments are made of and who may reach what: stats, classes, images,
 * access, profile and config. Registered by buildProgram() after ssh-config, so `hearth --help`
 * lists them there; each action hands its work to perform(), like every other verb.
 */
export function addManagementVerbs(program: Command): void {
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
    .option('--cpus <n>', 'virtual CPUs', wholeNumber)
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
    .addHelpText(
      'after',
      examples([
        'hearth access',
        'printf %s "$TOKEN" | hearth access add github.com --token-stdin',
        'hearth access check https://github.com/acme/site',
      ]),
    )
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
    .addHelpText('after', examples(['hearth config', 'sudo hearth config set maxEnvironments 4']))
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
}
