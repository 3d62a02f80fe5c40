import { COPY_TEXT_MAX_CHARS, SAVE_LOG_MAX_CHARS } from '#protocol';
import { stripAnsi } from './ansi.js';
import type { LogView } from './log-view.js';

/** What main's copyText and saveLog take (protocol/ipc.ts). */
export const COPY_MAX_CHARS = COPY_TEXT_MAX_CHARS;
export const SAVE_MAX_CHARS = SAVE_LOG_MAX_CHARS;

export interface Exported {
  text: string;
  /** Rows written, and rows there were: fewer when the cap cut the oldest. */
  rows: number;
  of: number;
}

/**
 * Plain text (ANSI removed) of rows `from`..`to` of the view, one line each, prefixed with the
 * time when the viewer shows it. Over `maxChars`, the newest rows are kept: they are the ones a
 * person saving a live log is after.
 */
export function exportRows(view: LogView, from: number, to: number, withTime: boolean, maxChars: number): Exported {
  const { buffer } = view;
  const parts: string[] = [];
  let chars = 0;
  let row = to;
  for (; row >= from; row -= 1) {
    const seq = view.seqAt(row);
    const plain = buffer.plain(seq, stripAnsi);
    const line = withTime ? `${new Date(buffer.time(seq)).toISOString()} ${plain}` : plain;
    if (chars + line.length + 1 > maxChars) break;
    parts.push(line);
    chars += line.length + 1;
  }
  parts.reverse();
  return { text: parts.join('\n') + (parts.length ? '\n' : ''), rows: parts.length, of: to - from + 1 };
}

/** A file name from the viewer's label: "Console of web" → console-of-web-2025-01-02T10-11-12.log */
export function suggestedName(label: string, now = new Date()): string {
  const slug =
    label
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'log';
  return `${slug}-${now.toISOString().slice(0, 19).replace(/:/g, '-')}.log`;
}
