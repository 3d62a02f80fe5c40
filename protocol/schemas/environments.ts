import { Type, type Static } from '@sinclair/typebox';
import { OneOf, Timestamp } from './common.js';
import { VmmKind } from './system.js';

/**
 * A name people give an environment; it becomes a host name (`<name>.hearth`), so it is a DNS
 * label: lower-case letters, digits and inner hyphens, starting with a letter, at most 63 long.
 */
export const EnvironmentName = Type.String({
  pattern: '^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$',
  maxLength: 63,
  description: 'DNS label: a-z, 0-9 and inner hyphens, starting with a letter; unique on this machine',
});

/** hearthd's id for an environment: `env-` and 12 hex digits. Never reused. */
export const EnvironmentId = Type.String({ pattern: '^env-[0-9a-f]{12}$' });

/** Path parameter: an environment's id or its name. Nothing path-like passes this pattern. */
export const EnvironmentRef = Type.String({
  pattern: '^[a-z][a-z0-9-]{0,62}$',
  description: "The environment's id (env-…) or its name",
});
export const EnvironmentParams = Type.Object({ id: EnvironmentRef }, { additionalProperties: false });

/** Class and image names: short identifiers, never paths. */
export const ClassName = Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$', maxLength: 32 });
export const ImageName = Type.String({ pattern: '^[a-z][a-z0-9.-]{0,62}$', maxLength: 63 });

export const EnvironmentState = OneOf(
  ['creating', 'starting', 'running', 'stopping', 'stopped', 'failed', 'deleting'],
  {
    description:
      'creating: disk being made; starting: VMM launched, guest booting; running: guest reported ready; ' +
      'stopping: power button pressed; stopped: no VMM (disk kept); failed: see reason; deleting: files being removed',
  },
);
export type EnvironmentState = Static<typeof EnvironmentState>;

export const Resources = Type.Object(
  {
    cpus: Type.Integer({ minimum: 1, maximum: 256 }),
    memoryMiB: Type.Integer({ minimum: 64, maximum: 4 * 1024 * 1024 }),
    diskGiB: Type.Integer({ minimum: 1, maximum: 4 * 1024 }),
  },
  { additionalProperties: false },
);
export type Resources = Static<typeof Resources>;

export const EnvironmentVmm = Type.Object(
  {
    kind: VmmKind,
    version: Type.String(),
    pid: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: 'VMM process while one runs' }),
  },
  { additionalProperties: false },
);

export const Environment = Type.Object(
  {
    id: EnvironmentId,
    name: EnvironmentName,
    owner: Type.Object(
      { uid: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'Calling uid, where known' }) },
      { additionalProperties: false },
    ),
    class: ClassName,
    image: ImageName,
    state: EnvironmentState,
    reason: Type.Union([Type.String(), Type.Null()], {
      description: 'Why it is failed or stopped (for example "VMM exited on signal SIGKILL")',
    }),
    desired: OneOf(['running', 'stopped'], { description: 'What the user last asked for' }),
    autostart: Type.Boolean({
      description: 'Start it again when hearthd (or the machine) starts, if it was meant to be running',
    }),
    resources: Resources,
    vmm: Type.Union([EnvironmentVmm, Type.Null()], { description: 'The VMM that runs (or last ran) it' }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    startedAt: Type.Union([Timestamp, Type.Null()]),
    readyAt: Type.Union([Timestamp, Type.Null()], { description: 'When the guest last reported ready' }),
    stoppedAt: Type.Union([Timestamp, Type.Null()]),
  },
  { additionalProperties: false },
);
export type Environment = Static<typeof Environment>;

export const EnvironmentList = Type.Object({ environments: Type.Array(Environment) }, { additionalProperties: false });
export type EnvironmentList = Static<typeof EnvironmentList>;

export const CreateEnvironment = Type.Object(
  {
    name: EnvironmentName,
    class: ClassName,
    image: Type.Optional(ImageName),
    start: Type.Optional(Type.Boolean({ description: 'Boot it at once (default true)' })),
    autostart: Type.Optional(
      Type.Boolean({ description: 'Start it again when hearthd or the machine starts (default false)' }),
    ),
  },
  { additionalProperties: false },
);
export type CreateEnvironment = Static<typeof CreateEnvironment>;

export const StopQuery = Type.Object(
  {
    force: Type.Optional(Type.Boolean({ description: 'Kill the VMM at once instead of pressing the power button' })),
  },
  { additionalProperties: false },
);

export const EnvironmentClass = Type.Object(
  {
    name: ClassName,
    description: Type.String({ maxLength: 200 }),
    ...Resources.properties,
  },
  { additionalProperties: false },
);
export type EnvironmentClass = Static<typeof EnvironmentClass>;

export const ClassParams = Type.Object({ name: ClassName }, { additionalProperties: false });
export const ClassBody = Type.Object(
  { description: Type.Optional(Type.String({ maxLength: 200 })), ...Resources.properties },
  { additionalProperties: false },
);
export type ClassBody = Static<typeof ClassBody>;
export const ClassList = Type.Object({ classes: Type.Array(EnvironmentClass) }, { additionalProperties: false });
export type ClassList = Static<typeof ClassList>;

export const LogSource = OneOf(['console', 'events'], {
  description: "console: the VM's serial console; events: what hearthd did to the environment",
});
export const LogsQuery = Type.Object(
  {
    tail: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000, description: 'Last N lines (default 200)' })),
    follow: Type.Optional(
      OneOf(['1', '0', 'true', 'false'], { description: 'follow=1: keep the response open as server-sent events' }),
    ),
    source: Type.Optional(LogSource),
  },
  { additionalProperties: false },
);
export const LogLines = Type.Object(
  {
    source: LogSource,
    lines: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);
export type LogLines = Static<typeof LogLines>;

/**
 * One SSE message (`event: lines`) of a followed log: the complete lines of one read, in order.
 * Batched because a console can write megabytes at once; one message per line would cost more
 * framing than text.
 */
export const LogLinesEvent = Type.Object(
  { type: Type.Literal('lines'), lines: Type.Array(Type.String(), { minItems: 1 }) },
  { additionalProperties: false },
);
export type LogLinesEvent = Static<typeof LogLinesEvent>;

/** One line of an environment's event log (`events.log`, NDJSON). */
export const EnvironmentLogEntry = Type.Object(
  {
    time: Timestamp,
    event: Type.String({ description: 'created, start-requested, vmm-launched, ready, stop-requested, exited, …' }),
    message: Type.String(),
  },
  { additionalProperties: false },
);
export type EnvironmentLogEntry = Static<typeof EnvironmentLogEntry>;

/** An image environments can be created from (installed by an administrator). */
export const ImageInfo = Type.Object(
  {
    name: ImageName,
    readyMarker: Type.Union([Type.String(), Type.Null()], {
      description: 'The console line that means "running"; null: running once the VMM booted it',
    }),
    installedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type ImageInfo = Static<typeof ImageInfo>;
export const ImageList = Type.Object({ images: Type.Array(ImageInfo) }, { additionalProperties: false });
export type ImageList = Static<typeof ImageList>;

export const EnvironmentStats = Type.Object(
  {
    id: EnvironmentId,
    name: EnvironmentName,
    owner: Type.Object(
      { uid: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]) },
      { additionalProperties: false },
    ),
    state: EnvironmentState,
    sampledAt: Timestamp,
    vmm: Type.Union(
      [
        Type.Object(
          {
            pid: Type.Integer({ minimum: 1 }),
            cpuPercent: Type.Number({
              minimum: 0,
              description: 'CPU time of the VMM process over wall time since the previous sample; 100 = one core',
            }),
            rssBytes: Type.Integer({ minimum: 0, description: 'Resident memory of the VMM process (VmRSS)' }),
          },
          { additionalProperties: false },
        ),
        Type.Null(),
      ],
      { description: 'null while no VMM runs' },
    ),
    memory: Type.Object(
      {
        configuredBytes: Type.Integer({ minimum: 0, description: 'Guest memory of its class' }),
        guestUsedBytes: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
          description:
            'Memory in use as the guest reports it; null: neither VMM is given a balloon device that would report it',
        }),
      },
      { additionalProperties: false },
    ),
    disk: Type.Object(
      {
        allocatedBytes: Type.Integer({ minimum: 0, description: 'Host blocks taken by its disk overlay' }),
        sizeBytes: Type.Integer({ minimum: 0, description: 'Disk size the guest sees (its class)' }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type EnvironmentStats = Static<typeof EnvironmentStats>;
