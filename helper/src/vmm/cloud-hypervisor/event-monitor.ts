/**
 * Cloud Hypervisor's `--event-monitor` output: pretty-printed JSON objects separated by a blank
 * line (not NDJSON), e.g.
 *
 *   {
 *     "timestamp": { "secs": 0, "nanos": 29385 },
 *     "source": "vm",
 *     "event": "booted",
 *     "properties": null
 *   }
 */
export interface ChEvent {
  timestamp?: { secs: number; nanos: number };
  source: string;
  event: string;
  properties?: Record<string, unknown> | null;
}

/** Parses as many complete events as `text` holds; a torn last object is left for later. */
export function parseEventMonitor(text: string): { events: ChEvent[]; rest: string } {
  const events: ChEvent[] = [];
  const chunks = text.split(/\n\s*\n/);
  const rest = chunks.pop() ?? '';
  const tryParse = (chunk: string): boolean => {
    const trimmed = chunk.trim();
    if (!trimmed) return true;
    try {
      const value = JSON.parse(trimmed) as ChEvent;
      if (typeof value.event === 'string' && typeof value.source === 'string') events.push(value);
      return true;
    } catch {
      return false;
    }
  };
  for (const chunk of chunks) tryParse(chunk);
  // The last object is complete when it parses on its own (the blank line after it may not be there yet).
  if (rest.trim() && tryParse(rest)) return { events, rest: '' };
  return { events, rest };
}
