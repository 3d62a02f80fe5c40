import type { Terminal } from '../terminal/terminal.js';

export interface ProgressBar {
  /** Whether the bar draws (a person at a terminal, no --json): otherwise the caller prints lines. */
  readonly live: boolean;
  update(done: number, total: number | null, text: string): void;
  /** Ends the bar's line, so what follows starts on its own. */
  done(): void;
}

/**
 * One line on stderr redrawn in place, `[#########.........]  45% | downloading 12 MiB of 27 MiB`,
 * drawn by cli-progress. Loaded only where a bar is drawn: most invocations never draw one, and
 * every invocation pays for what it loads at start (bench/cli.ts).
 */
export async function progressBar(terminal: Terminal): Promise<ProgressBar> {
  if (!terminal.progress) return { live: false, update: () => undefined, done: () => undefined };
  const { SingleBar } = (await import('cli-progress')).default;
  const bar = new SingleBar({
    stream: terminal.streams.stderr,
    format: `${terminal.colors.cyan('[{bar}]')} {percentage}% | {text}`,
    barCompleteChar: '#',
    barIncompleteChar: '.',
    barsize: 30,
    hideCursor: true,
    // The terminal is decided by Terminal (TTY, NO_COLOR, --json), not by the library again.
    noTTYOutput: true,
  });
  let started = false;
  return {
    live: true,
    update(done, total, text) {
      if (!started) bar.start(total ?? 0, done, { text });
      else bar.update(done, { text });
      if (total !== null && total !== bar.getTotal()) bar.setTotal(total);
      started = true;
    },
    done() {
      if (started) bar.stop();
      started = false;
    },
  };
}
