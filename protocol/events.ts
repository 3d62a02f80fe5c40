import { Type, type Static } from '@sinclair/typebox';
import { OneOf, Timestamp } from './schemas/common.js';
import { Environment, EnvironmentClass, EnvironmentStats, ImageName } from './schemas/environments.js';
import { DownloadProgress } from './schemas/images.js';
import { Verdict } from './schemas/host.js';
import { Settings } from './schemas/system.js';

/**
 * Events on `GET /v1/events` (server-sent events). Each SSE message has `event: <type>`,
 * `id: <seq>` and `data: <the JSON object below>`. `seq` grows by one per event per hearthd run;
 * a gap tells a client it missed events and should refetch what it shows.
 */
const envelope = {
  seq: Type.Integer({ minimum: 0, description: '1, 2, 3… per hearthd run; hello carries the last one sent' }),
  time: Timestamp,
};

export const HelloEvent = Type.Object(
  { ...envelope, type: Type.Literal('hello'), hearthd: Type.String(), api: Type.Literal('v1') },
  { additionalProperties: false, description: 'First event on every stream' },
);

export const HeartbeatEvent = Type.Object(
  { ...envelope, type: Type.Literal('heartbeat') },
  { additionalProperties: false, description: 'Sent every heartbeatSeconds so clients can detect a dead connection' },
);

export const ReadinessEvent = Type.Object(
  {
    ...envelope,
    type: Type.Literal('readiness'),
    verdict: Verdict,
    reason: Type.String(),
    previous: Type.Union([Verdict, Type.Null()]),
  },
  { additionalProperties: false, description: 'The host readiness verdict changed; refetch /v1/host for details' },
);

export const ConfigEvent = Type.Object(
  { ...envelope, type: Type.Literal('config'), settings: Settings },
  { additionalProperties: false, description: 'hearthd settings changed' },
);

export const EnvironmentEvent = Type.Object(
  {
    ...envelope,
    type: Type.Literal('environment'),
    change: OneOf(['created', 'updated', 'deleted']),
    environment: Environment,
  },
  { additionalProperties: false, description: 'An environment was created, changed state, or is gone' },
);

export const ClassesEvent = Type.Object(
  { ...envelope, type: Type.Literal('classes'), classes: Type.Array(EnvironmentClass) },
  { additionalProperties: false, description: 'Environment classes changed' },
);

export const StatsEvent = Type.Object(
  { ...envelope, type: Type.Literal('stats'), environments: Type.Array(EnvironmentStats) },
  {
    additionalProperties: false,
    description:
      'Every statsIntervalSeconds (2 s): the figures of running environments, each caller only its own (root all); not sent to a caller with none',
  },
);

export const ImageEvent = Type.Object(
  {
    ...envelope,
    type: Type.Literal('image'),
    name: ImageName,
    change: OneOf(['progress', 'installed', 'deleted', 'failed']),
    progress: Type.Union([DownloadProgress, Type.Null()], { description: 'For a catalog download or a local build' }),
  },
  {
    additionalProperties: false,
    description: 'An image is being downloaded (progress at most every 250 ms), was installed, failed, or was deleted',
  },
);

export const HearthEvent = Type.Union([
  HelloEvent,
  HeartbeatEvent,
  ReadinessEvent,
  ConfigEvent,
  EnvironmentEvent,
  ClassesEvent,
  StatsEvent,
  ImageEvent,
]);
export type HearthEvent = Static<typeof HearthEvent>;
export type HearthEventType = HearthEvent['type'];
export type HearthEventOf<T extends HearthEventType> = Extract<HearthEvent, { type: T }>;
