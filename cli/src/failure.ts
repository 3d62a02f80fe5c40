import { HearthdError, HearthdUnreachableError } from '#protocol/client';
import { HELPER_STATE_MESSAGES, isHearthdInstalled, unreachableState } from '../../user/helper-state.js';
import { CliError, ExitCode } from './exit-codes.js';

export interface Failure {
  message: string;
  hint?: string;
  exitCode: ExitCode;
}

/**
 * Any error a command ends with, as the words the user reads and the exit code a script reads.
 * hearthd's own message and hint are passed on as they are; an unreachable hearthd gets the
 * words the app's banner uses for the same state.
 */
export async function describeFailure(error: unknown): Promise<Failure> {
  if (error instanceof CliError)
    return { message: error.message, exitCode: error.exitCode, ...(error.hint !== undefined && { hint: error.hint }) };
  if (error instanceof HearthdUnreachableError) {
    const state = await unreachableState(error, () => isHearthdInstalled());
    const words = HELPER_STATE_MESSAGES[state];
    return {
      message: state === 'unreachable' ? `${words} (${error.message})` : words,
      hint: `hearthd's socket: ${error.socketPath}`,
      exitCode: ExitCode.unreachable,
    };
  }
  if (error instanceof HearthdError) {
    return {
      message: error.message,
      ...(error.hint !== undefined && { hint: error.hint }),
      exitCode: error.status === 403 ? ExitCode.unreachable : ExitCode.failed,
    };
  }
  return { message: error instanceof Error ? error.message : String(error), exitCode: ExitCode.failed };
}
