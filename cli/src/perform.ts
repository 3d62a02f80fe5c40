import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { CliContext, type GlobalOptions } from './context.js';
import { ExitCode } from './exit-codes.js';
import { describeFailure } from './failure.js';

/** A command's work: given the context, it returns its exit code. */
export type Work = (context: CliContext) => Promise<number>;

/**
 * Runs one command's work: builds its context from the options given before and after the verb,
 * turns Ctrl-C into an abort the work can answer (a follower ends with 0, unfinished work with
 * 130), and prints any failure as hearthd's words with the exit code that says what kind it is.
 */
export async function perform(command: CommandUnknownOpts, work: Work): Promise<void> {
  const abort = new AbortController();
  const onInterrupt = () => {
    // A second Ctrl-C while the first is being answered ends at once, as a terminal user expects.
    if (abort.signal.aborted) process.exit(ExitCode.interrupted);
    abort.abort();
  };
  process.on('SIGINT', onInterrupt);
  const options: GlobalOptions = command.optsWithGlobals();
  const context = new CliContext(options, abort.signal);
  try {
    const code = await work(context);
    process.exitCode = code;
  } catch (error) {
    if (abort.signal.aborted) {
      context.terminal.say('hearth: interrupted');
      process.exitCode = ExitCode.interrupted;
    } else {
      const failure = await describeFailure(error);
      context.terminal.say(`hearth: ${failure.message}`);
      if (failure.hint !== undefined) context.terminal.say(`  ${failure.hint}`);
      process.exitCode = failure.exitCode;
    }
  } finally {
    process.off('SIGINT', onInterrupt);
    await context.close();
  }
}
