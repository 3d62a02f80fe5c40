import type { Environment, EnvironmentList } from '#protocol';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { describeFailure } from '../failure.js';

type Verb = 'start' | 'stop' | 'restart' | 'rm';

const DOING: Record<Verb, string> = { start: 'starting', stop: 'stopping', restart: 'restarting', rm: 'deleting' };

/**
 * Acts on each named environment in turn, so `hearth stop a b c` stops what it can and says
 * which failed; the exit code is the worst of them.
 */
async function eachEnvironment(
  context: CliContext,
  names: readonly string[],
  verb: Verb,
  act: (name: string) => Promise<Environment>,
): Promise<ExitCode> {
  const { terminal } = context;
  let worst: ExitCode = ExitCode.ok;
  const results: Environment[] = [];
  for (const name of names) {
    try {
      results.push(await act(name));
      if (!terminal.json) terminal.say(`${name}: ${DOING[verb]}`);
    } catch (error) {
      const failure = await describeFailure(error);
      terminal.say(`hearth: ${name}: ${failure.message}`);
      if (failure.hint !== undefined) terminal.say(`  ${failure.hint}`);
      // Unreachable hearthd will not answer for the next name either.
      if (failure.exitCode === ExitCode.unreachable) return failure.exitCode;
      worst = failure.exitCode;
    }
  }
  if (terminal.json) terminal.data({ environments: results } satisfies EnvironmentList);
  return worst;
}

export function startEnvironments(context: CliContext, names: readonly string[]): Promise<ExitCode> {
  return eachEnvironment(context, names, 'start', (id) => context.client.call('startEnvironment', { params: { id } }));
}

export function stopEnvironments(
  context: CliContext,
  names: readonly string[],
  options: { force?: boolean },
): Promise<ExitCode> {
  return eachEnvironment(context, names, 'stop', (id) =>
    context.client.call('stopEnvironment', { params: { id }, query: { force: options.force ?? false } }),
  );
}

export function restartEnvironments(context: CliContext, names: readonly string[]): Promise<ExitCode> {
  return eachEnvironment(context, names, 'restart', (id) =>
    context.client.call('restartEnvironment', { params: { id } }),
  );
}

/** Deleting loses the disk: a person at a terminal confirms; a script says --yes. */
export async function removeEnvironments(
  context: CliContext,
  names: readonly string[],
  options: { yes?: boolean },
): Promise<ExitCode> {
  if (options.yes !== true) {
    if (!process.stdin.isTTY || !context.terminal.stderrTty)
      throw new CliError(
        `deleting ${names.join(', ')} loses ${names.length === 1 ? 'its disk' : 'their disks'}: add --yes to confirm`,
        ExitCode.usage,
      );
    const { createInterface } = await import('node:readline/promises');
    const prompt = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const answer = await prompt.question(
        `Delete ${names.join(', ')} and ${names.length === 1 ? 'its disk' : 'their disks'}? [y/N] `,
        { signal: context.signal },
      );
      if (!/^y(es)?$/i.test(answer.trim())) {
        context.terminal.say('Nothing deleted.');
        return ExitCode.failed;
      }
    } finally {
      prompt.close();
    }
  }
  return eachEnvironment(context, names, 'rm', (id) => context.client.call('deleteEnvironment', { params: { id } }));
}
