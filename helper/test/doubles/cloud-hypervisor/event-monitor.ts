import { closeSync, openSync, writeSync } from 'node:fs';

/**
 * CH's `--event-monitor`: one pretty-printed JSON object per event, each followed by a blank line
 * (serde_json's `to_string_pretty` + "\n\n"; not NDJSON). The timestamp is the time since the VMM
 * started. Writes are synchronous so the file already holds an event when the API call that caused
 * it returns, as with CH's dedicated writer thread in practice.
 */

export interface MonitorEvent {
  timestamp: { secs: number; nanos: number };
  source: string;
  event: string;
  properties: Record<string, string> | null;
}

const started = process.hrtime.bigint();

export class EventMonitor {
  private constructor(private fd: number | undefined) {}

  /** `path=<p>` truncates or creates the file; `fd=<n>` writes to an inherited descriptor. */
  static open(target: { path: string } | { fd: number } | undefined): EventMonitor {
    if (target === undefined) return new EventMonitor(undefined);
    if ('fd' in target) return new EventMonitor(target.fd);
    return new EventMonitor(openSync(target.path, 'w', 0o600));
  }

  emit(source: string, event: string, properties: Record<string, string> | null = null): void {
    if (this.fd === undefined) return;
    const elapsed = process.hrtime.bigint() - started;
    const record: MonitorEvent = {
      timestamp: { secs: Number(elapsed / 1_000_000_000n), nanos: Number(elapsed % 1_000_000_000n) },
      source,
      event,
      properties,
    };
    // JSON.stringify with two-space indent prints exactly what serde_json's pretty printer does
    // for these flat objects.
    writeSync(this.fd, `${JSON.stringify(record, null, 2)}\n\n`);
  }

  close(): void {
    if (this.fd !== undefined && this.fd > 2) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Splits event-monitor output into its JSON objects (blank-line separated, pretty-printed). */
export function parseEventMonitor(text: string): MonitorEvent[] {
  return text
    .split(/\n\n/)
    .map((chunk) => chunk.trim())
    .filter((chunk) => chunk !== '')
    .map((chunk) => JSON.parse(chunk) as MonitorEvent);
}
