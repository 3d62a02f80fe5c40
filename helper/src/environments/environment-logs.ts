import type { LogLines } from '#protocol';
import { regularFileSize } from '../fs/safe-read.js';
import type { EnvironmentLayout } from './layout.js';
import { cleanConsoleText, cutLine, followFile, MAX_LINE_CHARS, tailLines } from './log-files.js';

export type LogSource = 'console' | 'events';

/** The last `tail` lines of an environment's console (cleaned for people) or event log. */
export async function readLog(layout: EnvironmentLayout, source: LogSource, tail: number): Promise<LogLines> {
  const lines =
    source === 'console'
      ? await tailLines(layout.console, layout.consoleRotated, tail, true)
      : await tailLines(layout.events, layout.eventsRotated, tail);
  return { source, lines };
}

/** Where a followed log goes. `onLine` returns false when the receiver is full. */
export interface LogSink {
  onLine: (line: string) => boolean;
  /** Registers the call that resumes reading once the receiver has room again. */
  onRoom: (resume: () => void) => void;
  onEnd: () => void;
  gone: () => boolean;
}

/**
 * Sends the last `tail` lines, then every new complete line, until the returned function is
 * called or `gone()` says the environment was deleted (then `onEnd`). With backpressure: while
 * the receiver is full the file is not read for it; it resumes from its own offset.
 */
export async function followLog(
  layout: EnvironmentLayout,
  source: LogSource,
  tail: number,
  to: LogSink,
): Promise<() => void> {
  const file = source === 'console' ? layout.console : layout.events;
  const offset = await regularFileSize(file);
  for (const line of (await readLog(layout, source, tail)).lines) to.onLine(line);
  let partial = '';
  const stopFile = followFile(file, offset, (text) => {
    // Cleaned line by line: a control sequence may be split between two reads, never between lines.
    const lines = (partial + text).split('\n');
    // A line without end (a VMM may write one) is kept only up to the cut, not held whole.
    partial = (lines.pop() ?? '').slice(0, MAX_LINE_CHARS + 1);
    let room = true;
    // The lines of one read are all sent (they are decoded already); only the next read waits.
    for (const line of lines)
      if (!to.onLine(cutLine(source === 'console' ? cleanConsoleText(line) : line))) room = false;
    return room;
  });
  to.onRoom(() => stopFile.resume());
  const watch = setInterval(() => {
    if (!to.gone()) return;
    stop();
    to.onEnd();
  }, 500);
  const stop = () => {
    stopFile();
    clearInterval(watch);
  };
  return stop;
}
