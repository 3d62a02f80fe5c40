/**
 * The exit codes `hearth` documents (README, `hearth --help`): scripts branch on them.
 */
export const ExitCode = {
  ok: 0,
  /** The work failed: hearthd refused it, or an environment ended up failed. */
  failed: 1,
  /** The command line itself was wrong. */
  usage: 2,
  /** `doctor`: the machine runs environments, with limitations. */
  degraded: 3,
  /** hearthd is not installed, not running, or the user may not use it. */
  unreachable: 4,
  /** Ctrl-C ended work that had not finished (such as `create --wait`). */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure the command has already put into words: printed as it is, with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.failed,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
