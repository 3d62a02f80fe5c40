import { FormatRegistry } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { EnvironmentLogEntry } from '#protocol';
import type { Tone } from '../../ui/StatusBadge.js';

// TypeBox knows no formats until told; an entry's time must be one the page can show.
if (!FormatRegistry.Has('date-time'))
  FormatRegistry.Set('date-time', (value) => /^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value)));

export interface Timeline {
  entries: EnvironmentLogEntry[];
  /** Lines that were not an entry (cut, or written by a different hearthd): counted, not shown. */
  skipped: number;
}

/**
 * hearthd's event log for one environment is NDJSON, one EnvironmentLogEntry a line. A line that
 * does not parse or does not match the schema is skipped: one bad line must not hide the rest.
 */
export function parseTimeline(lines: readonly string[]): Timeline {
  const entries: EnvironmentLogEntry[] = [];
  let skipped = 0;
  for (const line of lines) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      skipped++;
      continue;
    }
    if (Value.Check(EnvironmentLogEntry, value)) entries.push(value);
    else skipped++;
  }
  return { entries, skipped };
}

const FAILING = new Set(['launch-failed', 'boot-timeout', 'autostart-refused']);
const GOOD = new Set(['ready', 'reattached']);
const ASKED = new Set(['start-requested', 'stop-requested', 'restart-requested', 'delete-requested', 'autostart']);

/** How a step of the timeline reads; an exit is a failure only when it left the environment failed. */
export function toneOf(entry: EnvironmentLogEntry): Tone {
  if (FAILING.has(entry.event)) return 'fail';
  if (entry.event === 'exited') return /now failed/.test(entry.message) ? 'fail' : 'idle';
  if (GOOD.has(entry.event)) return 'pass';
  if (ASKED.has(entry.event)) return 'info';
  return 'idle';
}
