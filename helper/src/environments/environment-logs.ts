import type { LogLines } from '#protocol';
import { regularFileSize } from '../system/safe-read.js';
import type { EnvironmentLayout } from './layout.js';
import { cleanConsoleText, cutLine, followFile, MAX_LINE_CHARS, skippedMarker, tailLines } from './log-files.js';

export type LogSource = 'console' | 'events';

/** The last `tail` lines of an environment's console (cleaned for people) or event log. */
export async function readLog(layout: EnvironmentLayout, source: LogSource, tail: number): Promise<LogLines> {
  const lines =
    source === 'console'
      ? await tailLines(layout.console, layout.consoleRotated, tail, true)
      : await tailLines(layout.events, layout.eventsRotated, tail);
  return { source, lines };
}

/** Where a followed log goes. `onLines` returns false when the receiver is full. */
export interface LogSink {
  /** A batch of complete lines, oldest first, never empty. */
  onLines: (lines: string[]) => boolean;
  /** Registers the call that resumes reading once the receiver has room again. */
  onRoom: (resume: () => void) => void;
  onEnd: () => void;
  gone: () => boolean;
}

/**
 * Sends the last `tail` lines as one batch, then the complete lines of each read as one batch,
 * until the returned function is called or `gone()` says the environment was deleted (then
 * `onEnd`). One message per read, not per line: a 1 MiB burst is ~10,000 lines, and framing,
 * JSON and socket writes per line were what held a follower to single-digit MiB/s. With
 * backpressure: while the receiver is full the file is not read for it; it resumes from its own
 * offset.
 */
export async function followLog(
  layout: EnvironmentLayout,
  source: LogSource,
  tail: number,
  to: LogSink,
): Promise<() => void> {
  const file = source === 'console' ? layout.console : layout.events;
  const offset = await regularFileSize(file);
  const first = (await readLog(layout, source, tail)).lines;
  if (first.length) to.onLines(first);
  let partial = '';
  const stopFile = followFile(file, offset, (text, skipped) => {
    // The follower lost its place (it fell too far behind, or the file was rotated under it):
    // what it held of an unfinished line belongs to bytes it will never see.
    if (skipped) partial = '';
    const joined = partial + text;
    const end = joined.lastIndexOf('\n');
    // A line without end (a VMM may write one) is kept only up to the cut, not held whole.
    partial = joined.slice(end + 1, end + 1 + MAX_LINE_CHARS + 1);
    // Cleaned once over the complete lines (a control sequence may be split between two reads,
    // never between lines; cleaning never spans a newline), then split.
    const complete = end < 0 ? '' : joined.slice(0, end);
    const batch =
      end < 0 ? [] : (source === 'console' ? cleanConsoleText(complete) : complete).split('\n').map(cutLine);
    if (skipped) batch.unshift(skippedMarker(skipped));
    // The lines of one read are all sent (they are decoded already); only the next read waits.
    return batch.length ? to.onLines(batch) : true;
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
