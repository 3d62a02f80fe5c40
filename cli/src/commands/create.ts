import type { CreateEnvironment, Environment } from '#protocol';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { progressOf, untilSettled } from './follow-environment.js';

export interface CreateOptions {
  repo?: string;
  ref?: string;
  image?: string;
  class?: string;
  isolated?: boolean;
  start: boolean;
  wait?: boolean;
}

/** The class hearthd lists first, as the app's create form does when none is chosen. */
async function defaultClass(context: CliContext): Promise<string> {
  const { classes } = await context.client.call('listClasses');
  const first = classes[0];
  if (first === undefined)
    throw new CliError(
      'hearthd has no environment classes',
      ExitCode.failed,
      'an administrator adds one: hearth classes',
    );
  return first.name;
}

/** How to reach a running environment: the next thing the person will want. */
function reachOut(context: CliContext, env: Environment): void {
  const { terminal } = context;
  if (env.ssh === null) return;
  terminal.say(`  hearth ssh ${env.name}       (or: ssh ${env.name}.hearth)`);
  if (env.repository !== null) terminal.say(`  the repository is in /workspace/${env.repository.directory}`);
}

/**
 * `hearth create`: the same request the app's form makes, with the user's SSH key (made if there
 * is none yet, as the app does) so `hearth ssh` works; with --wait, a live line until the
 * environment runs or fails.
 */
export async function createEnvironment(context: CliContext, name: string, options: CreateOptions): Promise<ExitCode> {
  const { terminal } = context;
  const ssh = await context.ssh();
  const setup = await ssh.createKey();
  const request: CreateEnvironment = {
    name,
    class: options.class ?? (await defaultClass(context)),
    start: options.start,
    ...(options.image !== undefined && { image: options.image }),
    ...(options.isolated === true && { isolated: true }),
    ...(options.repo !== undefined && { repository: options.repo }),
    ...(options.ref !== undefined && { ref: options.ref }),
    ...(setup.publicKey !== null && { sshPublicKey: setup.publicKey }),
  };
  const create = () => context.client.call('createEnvironment', { body: request });

  if (options.wait !== true || !options.start) {
    const env = await create();
    await ssh.sync();
    if (terminal.json) terminal.data(env);
    else terminal.say(`${env.name}: ${env.state}${options.start ? ' (hearth ls shows how it goes)' : ''}`);
    return ExitCode.ok;
  }

  // Loaded here, where --wait needs it: at the top it cost every `hearth` command's start ~1 ms
  // of CPU (it loads node:tty and its colours; bench/cli.ts). Ctrl-C is perform()'s to answer (it
  // aborts the wait, and the environment keeps going), not the spinner's, whose own handler would
  // exit at once without a word.
  const spinner = terminal.progress
    ? (await import('yocto-spinner')).default({ stream: terminal.streams.stderr, handleSignals: false })
    : undefined;
  let env: Environment | undefined;
  try {
    env = await untilSettled(context, create, (update) => {
      env = update;
      if (spinner === undefined) return;
      spinner.text = `${update.name}: ${terminal.guest(progressOf(update), 'stderr')}`;
      if (!spinner.isSpinning) spinner.start();
    });
  } catch (error) {
    if (!context.signal.aborted || env === undefined) throw error;
    terminal.say(
      `hearth: interrupted; ${env.name} keeps ${env.state === 'creating' ? 'being created' : 'starting'} (hearth ls)`,
    );
    return ExitCode.interrupted;
  } finally {
    spinner?.stop();
  }
  await ssh.sync();
  if (terminal.json) terminal.data(env);
  if (env.state === 'running') {
    terminal.say(`${terminal.colors.green('✓')} ${env.name} is running`);
    reachOut(context, env);
    return ExitCode.ok;
  }
  const reason = terminal.guest(env.reason ?? 'no reason given', 'stderr');
  terminal.say(`${terminal.colors.red('✗')} ${env.name} is ${env.state}: ${reason}`);
  terminal.say(`  its log: hearth logs ${env.name} --source events`);
  return ExitCode.failed;
}
