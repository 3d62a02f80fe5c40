import type { Terminal } from '../terminal/terminal.js';
import { formatPercent } from '../terminal/format.js';

export interface ProgressBar {
  /** Whether the bar draws (a person at a terminal, no --json): otherwise the caller prints lines. */
  readonly live: boolean;
  update(done: number, total: number | null, text: string): void;
  /** Ends the bar's line, so what follows starts on its own. */
  done(): void;
}

const WIDTH = 30;

/**
 * One line on stderr redrawn in place: `[#########.........]  45%  downloading 12 MiB of 27 MiB`.
 * Twenty lines of code do what a progress library would, without its weight on every start.
 */
export function progressBar(terminal: Terminal): ProgressBar {
  const live = terminal.progress;
  let drawn = false;
  return {
    live,
    update(done, total, text) {
      if (!live) return;
      const fraction = total ? Math.min(1, done / total) : 0;
      const filled = Math.round(fraction * WIDTH);
      const bar = total
        ? `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${formatPercent(fraction * 100).padStart(5)}  `
        : '';
      // \r back to the start, \x1b[K clear what a longer line left.
      terminal.streams.stderr.write(`\r${terminal.colors.cyan(bar)}${text}\u001b[K`);
      drawn = true;
    },
    done() {
      if (drawn) terminal.streams.stderr.write('\n');
      drawn = false;
    },
  };
}
