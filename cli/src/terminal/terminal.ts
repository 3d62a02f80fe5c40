import { createColors } from 'picocolors';
import stripAnsi from 'strip-ansi';

export interface TerminalOptions {
  json: boolean;
  color: boolean;
  raw: boolean;
}

export interface Streams {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

// C0 controls but tab and newline, DEL, and C1: whatever strip-ansi leaves of a sequence (a lone
// ESC, a carriage return that would overwrite the line) must not reach the terminal either.
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Where `hearth` writes and how: colours and live progress only for a person at a terminal (a
 * TTY, no NO_COLOR, no --no-color, no --json), data on stdout and everything else on stderr.
 */
export class Terminal {
  readonly json: boolean;
  /** stdout is a terminal: tables may colour, guest text is cleaned. */
  readonly stdoutTty: boolean;
  /** stderr is a terminal: live progress may redraw it. */
  readonly stderrTty: boolean;
  readonly colors: ReturnType<typeof createColors>;
  readonly progress: boolean;
  private readonly raw: boolean;

  constructor(
    options: TerminalOptions,
    readonly streams: Streams = { stdout: process.stdout, stderr: process.stderr, env: process.env },
  ) {
    const noColor = (streams.env.NO_COLOR ?? '') !== '';
    this.json = options.json;
    this.raw = options.raw;
    this.stdoutTty = streams.stdout.isTTY;
    this.stderrTty = streams.stderr.isTTY;
    this.colors = createColors(this.stdoutTty && options.color && !noColor && !options.json);
    this.progress = this.stderrTty && !options.json;
  }

  /** A line of data on stdout. */
  out(line = ''): void {
    this.streams.stdout.write(`${line}\n`);
  }

  /** A line for the person (what happened, what to do) on stderr. */
  say(line = ''): void {
    this.streams.stderr.write(`${line}\n`);
  }

  /** The document `--json` asks for: the contract's own shape, nothing added. */
  data(value: unknown): void {
    this.out(JSON.stringify(value, null, 2));
  }

  /**
   * Text that a guest wrote (its console, process names, git's progress) as it may be shown: on a
   * terminal its escape sequences and control characters are removed unless --raw, so a guest
   * cannot move the cursor, retitle the window or hide what it printed.
   */
  guest(text: string, stream: 'stdout' | 'stderr' = 'stdout'): string {
    if (this.raw || !(stream === 'stdout' ? this.stdoutTty : this.stderrTty)) return text;
    return stripAnsi(text).replace(CONTROLS, '');
  }
}
