import { Type, type Static } from '@sinclair/typebox';
import { OneOf, Timestamp } from './common.js';
import { EnvironmentId, EnvironmentName } from './environments.js';

export const LogLevel = OneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
export type LogLevel = Static<typeof LogLevel>;

/**
 * One entry of hearthd's own log, as kept in its in-memory ring (journald is not always there).
 * Administrators see every entry; members only those about environments they own.
 */
export const HearthdLogEntry = Type.Object(
  {
    seq: Type.Integer({ minimum: 1, description: '1, 2, 3… per hearthd run; a gap means entries left the ring' }),
    time: Timestamp,
    level: LogLevel,
    msg: Type.String({ maxLength: 8192 }),
    environment: Type.Optional(
      Type.Object({ id: EnvironmentId, name: EnvironmentName }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);
export type HearthdLogEntry = Static<typeof HearthdLogEntry>;

export const HearthdLogQuery = Type.Object(
  {
    tail: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000, description: 'Last N entries (default 200)' })),
    follow: Type.Optional(
      OneOf(['1', '0', 'true', 'false'], { description: 'follow=1: keep the response open as server-sent events' }),
    ),
    level: Type.Optional(LogLevel),
  },
  { additionalProperties: false },
);

export const HearthdLog = Type.Object(
  {
    entries: Type.Array(HearthdLogEntry),
    /** How many entries the ring has dropped since hearthd started (it keeps the newest). */
    dropped: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type HearthdLog = Static<typeof HearthdLog>;

/** One SSE message (`event: entries`) of a followed hearthd log: new entries, oldest first. */
export const HearthdLogEntriesEvent = Type.Object(
  { type: Type.Literal('entries'), entries: Type.Array(HearthdLogEntry, { minItems: 1 }) },
  { additionalProperties: false },
);
export type HearthdLogEntriesEvent = Static<typeof HearthdLogEntriesEvent>;
