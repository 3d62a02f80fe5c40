import type { HearthdLogEntry, LogLevel } from '#protocol';
import type { Caller } from './caller.js';

/** How much of hearthd's own log is kept in memory (journald is not always there). */
export const RING_MAX_ENTRIES = 5_000;
export const RING_MAX_BYTES = 4 * 1024 * 1024;
/** The contract's cap on one entry's text. */
export const MAX_MSG_CHARS = 8192;
/** What one entry costs beyond its text (seq, time, level, environment, object overhead), roughly. */
const ENTRY_OVERHEAD_BYTES = 160;

const LEVEL_OF: Record<number, LogLevel> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};
export const LEVEL_RANK: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/**
 * The fields hearthd's environment code binds to its log lines (see `environmentLog`), so an
 * entry is attributable: `env` is the id, `envName` the name, `envOwner` the owning uid at log
 * time. The owner stays inside hearthd: it decides who may read the entry and is never sent.
 */
export const ENV_FIELDS = { id: 'env', name: 'envName', owner: 'envOwner' } as const;
/** pino's own fields, shown by the entry's other fields, not in its text. */
const STANDARD_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'v', ...Object.values(ENV_FIELDS)]);

export interface RingEntry {
  entry: HearthdLogEntry;
  /** The owner of `entry.environment` when it was logged; undefined: no environment, or unknown. */
  owner: number | null | undefined;
  bytes: number;
}

/** May `caller` read this entry? Administrators all; members their own environments'; the unnamed nothing. */
export function visibleTo(caller: Caller, item: RingEntry): boolean {
  if (caller.uid === null) return false;
  if (caller.admin) return true;
  return item.owner !== undefined && item.owner === caller.uid;
}

/** `key=value` for the fields beyond the message, so `err`, `pid` or `verdict` are not lost. */
function textOf(line: Record<string, unknown>): string {
  const msg = typeof line.msg === 'string' ? line.msg : '';
  const extra = Object.entries(line)
    .filter(([key]) => !STANDARD_FIELDS.has(key))
    .map(([key, value]) => {
      // An error serialized by pino: its message says it; the stack stays in the journal.
      if (value && typeof value === 'object' && 'message' in value) value = value.message;
      return `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`;
    });
  const text = extra.length ? `${msg} ${extra.join(' ')}` : msg;
  return text.length > MAX_MSG_CHARS ? `${text.slice(0, MAX_MSG_CHARS - 1)}…` : text;
}

/** A finished (already redacted) pino line as a ring entry, or undefined when it is not one. */
export function parseLine(line: string, seq: number): RingEntry | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object') return undefined;
  const fields = parsed as Record<string, unknown>;
  const level = LEVEL_OF[Number(fields.level)] ?? 'info';
  const time = typeof fields.time === 'string' ? fields.time : new Date().toISOString();
  const id = fields[ENV_FIELDS.id];
  const name = fields[ENV_FIELDS.name];
  const owner = fields[ENV_FIELDS.owner];
  const environment =
    typeof id === 'string' && typeof name === 'string' && /^env-[0-9a-f]{12}$/.test(id) ? { id, name } : undefined;
  const entry: HearthdLogEntry = { seq, time, level, msg: textOf(fields), ...(environment && { environment }) };
  return {
    entry,
    // Without a named environment nobody but an administrator may read it.
    owner: environment && (typeof owner === 'number' || owner === null) ? owner : undefined,
    bytes: entry.msg.length * 2 + ENTRY_OVERHEAD_BYTES,
  };
}

/**
 * hearthd's recent log in memory: the newest RING_MAX_ENTRIES entries within RING_MAX_BYTES.
 * It is a pino destination (`write` takes finished lines, after redaction), so nothing reaches it
 * that did not go through log.ts. Listeners hear of each append; they read what is new with
 * `since(seq)`, so a slow reader never makes the ring hold more.
 */
export class LogRing {
  private readonly items: RingEntry[] = [];
  /** Index of the oldest kept item in `items` (eviction moves it; the array is compacted now and then). */
  private head = 0;
  private bytes = 0;
  private seq = 0;
  private evicted = 0;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly maxEntries = RING_MAX_ENTRIES,
    private readonly maxBytes = RING_MAX_BYTES,
  ) {}

  /** pino's destination interface: one finished JSON line per call. */
  write(line: string): boolean {
    const item = parseLine(line, this.seq + 1);
    if (!item) return true;
    this.seq += 1;
    this.items.push(item);
    this.bytes += item.bytes;
    while (this.size > this.maxEntries || (this.bytes > this.maxBytes && this.size > 1)) {
      this.bytes -= this.items[this.head]!.bytes;
      this.head += 1;
      this.evicted += 1;
    }
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    for (const listener of this.listeners) listener();
    return true;
  }

  get size(): number {
    return this.items.length - this.head;
  }

  /** Entries the ring let go of since hearthd started. */
  get dropped(): number {
    return this.evicted;
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** The kept entries with a seq above `seq`, oldest first. */
  since(seq: number): RingEntry[] {
    const firstSeq = this.seq - this.size + 1;
    return this.items.slice(this.head + Math.max(0, seq + 1 - firstSeq));
  }

  /** Called after every append; returns the unsubscribe. */
  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export interface LogView {
  caller: Caller;
  minLevel: LogLevel;
}

export const viewFilter =
  ({ caller, minLevel }: LogView) =>
  (item: RingEntry): boolean =>
    LEVEL_RANK[item.entry.level] >= LEVEL_RANK[minLevel] && visibleTo(caller, item);

/** The last `tail` entries `view` may see. */
export function tailOf(ring: LogRing, view: LogView, tail: number): HearthdLogEntry[] {
  if (tail === 0) return [];
  const visible = viewFilter(view);
  const out: HearthdLogEntry[] = [];
  const all = ring.since(0);
  for (let i = all.length - 1; i >= 0 && out.length < tail; i -= 1) if (visible(all[i]!)) out.push(all[i]!.entry);
  return out.reverse();
}

/** Where a followed ring goes. `send` returns false when the receiver is full. */
export interface EntrySink {
  send: (entries: HearthdLogEntry[]) => boolean;
  /** Registers the call that resumes sending once the receiver has room again. */
  onRoom: (resume: () => void) => void;
}

/** At most this many entries in one batch (a few hundred KiB), so one send never holds the whole ring. */
const MAX_BATCH = 1_000;

/**
 * Sends the last `tail` entries `view` may see as one batch, then what is appended, batched per
 * turn of the event loop (a burst of log lines is one message, not one each). Backpressure: while
 * the receiver is full nothing is sent; on room it goes on from its own position, so entries
 * evicted meanwhile are a gap in `seq`, and the ring never holds more for a slow reader.
 */
export function followRing(ring: LogRing, view: LogView, tail: number, to: EntrySink): () => void {
  const visible = viewFilter(view);
  let position = ring.lastSeq;
  let full = false;
  let scheduled: NodeJS.Immediate | undefined;
  let stopped = false;
  const first = tailOf(ring, view, tail);
  if (first.length && !to.send(first)) full = true;
  const flush = () => {
    scheduled = undefined;
    while (!stopped && !full) {
      const fresh = ring.since(position);
      if (!fresh.length) return;
      const batch: HearthdLogEntry[] = [];
      for (const item of fresh) {
        position = item.entry.seq;
        if (visible(item)) batch.push(item.entry);
        if (batch.length === MAX_BATCH) break;
      }
      if (batch.length && !to.send(batch)) full = true;
    }
  };
  const wake = () => {
    if (!full && !stopped) scheduled ??= setImmediate(flush);
  };
  to.onRoom(() => {
    full = false;
    wake();
  });
  const unsubscribe = ring.onAppend(wake);
  return () => {
    stopped = true;
    unsubscribe();
    if (scheduled) clearImmediate(scheduled);
  };
}
