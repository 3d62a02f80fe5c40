import Table from 'cli-table3';
import type { Terminal } from './terminal.js';

const BORDERLESS = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '  ',
};

/**
 * Rows as aligned columns without borders (the way `docker ps` and `kubectl get` print), the
 * header in bold on a terminal. Cells are plain text: the caller has already cleaned guest text.
 */
export function renderTable(
  terminal: Terminal,
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const table = new Table({
    head: header.map((h) => terminal.colors.bold(h)),
    chars: BORDERLESS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  for (const row of rows) table.push([...row]);
  // cli-table3 pads every cell, the last column too: trailing spaces are noise in a pipe.
  return table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}
