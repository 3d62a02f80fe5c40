import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';
import { endpoints, type CallableName, type Endpoint, type Endpoints, type RequestOf } from './endpoints.js';
import { ErrorBody, ErrorCode } from './errors.js';
import { HearthEvent } from './events.js';
import { OneOf } from './schemas/common.js';
import { EnvironmentParams, LogLinesEvent, LogSource } from './schemas/environments.js';
import { HearthdLogEntriesEvent, LogLevel } from './schemas/hearthd-log.js';
import {
  AppInfo,
  CliStatus,
  CloseAction,
  ConnectionStatus,
  InstallRequest,
  InstallRun,
  SshSetup,
} from './schemas/app.js';

/**
 * The renderer ↔ main contract (`window.hearth`), declared once. The main process validates every
 * request against these schemas and checks the sender; the preload exposes exactly these names;
 * the renderer gets its types from here. Browser mode carries the same messages over a loopback
 * bridge. Adding an app call is one row in `ipcInvoke`; adding a hearthd-backed call is one name
 * in `hearthdCalls` (its schemas come from the endpoint table); adding a subscription topic is one
 * row in `ipcTopics`.
 */

const Empty = Type.Object({}, { additionalProperties: false });

/** A string the user may copy: a remedy command, an SSH command. */
/** Room for a selection of a few thousand log lines; more is what "Save…" is for. */
export const COPY_TEXT_MAX_CHARS = 1024 * 1024;
const CopyText = Type.Object(
  { text: Type.String({ minLength: 1, maxLength: COPY_TEXT_MAX_CHARS }) },
  { additionalProperties: false },
);

/** The most text one saveLog call carries (characters): a larger IPC message stalls both ends. */
export const SAVE_LOG_MAX_CHARS = 64 * 1024 * 1024;

export const SaveLogRequest = Type.Object(
  {
    /** A bare file name (no directory): main decides where, with the user (a save dialog). */
    suggestedName: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' }),
    text: Type.String({ maxLength: SAVE_LOG_MAX_CHARS }),
  },
  { additionalProperties: false },
);
export type SaveLogRequest = Static<typeof SaveLogRequest>;

export const SaveLogResult = Type.Union([
  Type.Object({ path: Type.String() }, { additionalProperties: false }),
  Type.Object({ cancelled: Type.Literal(true) }, { additionalProperties: false }),
]);
export type SaveLogResult = Static<typeof SaveLogResult>;

// ---------------------------------------------------------------------------------------------
// hearthd-backed calls: derived from the endpoint table, never restated

/**
 * The hearthd endpoints the window may call, by name. Each becomes an IPC call of the same name
 * whose request is the endpoint's `{ params, query, body }` and whose response is its response.
 * Deliberately a list, not "every endpoint": config changes and class edits stay out of the
 * window until a screen needs them.
 */
export const hearthdCalls = [
  'getVersion',
  'getHost',
  'getConfig',
  'listEnvironments',
  'getEnvironment',
  'createEnvironment',
  'startEnvironment',
  'stopEnvironment',
  'restartEnvironment',
  'deleteEnvironment',
  'getEnvironmentLogs',
  'getEnvironmentStats',
  'getHearthdLog',
  'listClasses',
  'putClass',
  'deleteClass',
  'updateConfig',
  'getCaller',
  'listImages',
  'deleteImage',
  'getCatalog',
  'downloadImage',
  'getProfile',
  'putProfile',
  'listCredentials',
  'addCredential',
  'deleteCredential',
  'checkAccess',
  'listGitHostKeys',
  'confirmGitHostKey',
] as const satisfies readonly CallableName[];
export type HearthdCallName = (typeof hearthdCalls)[number];

/** `follow` turns a call into a stream; over IPC that is what subscriptions are for. */
type WithoutFollow<R> = { [K in keyof R]: K extends 'query' ? Omit<Exclude<R[K], undefined>, 'follow'> : R[K] };
export type HearthdIpcRequest<N extends HearthdCallName> = WithoutFollow<RequestOf<N>>;

/** Parts with a required field must be sent; the others may be left out (as the typed client allows). */
function requestSchema(endpoint: Endpoint): TSchema {
  const parts: Record<string, TSchema> = {};
  for (const part of ['params', 'query', 'body'] as const) {
    let schema = endpoint[part];
    if (schema === undefined) continue;
    if (part === 'query') schema = Type.Omit(schema, ['follow'], { additionalProperties: false });
    const required = ((schema as { required?: string[] }).required ?? []).length > 0;
    parts[part] = required ? schema : Type.Optional(schema);
  }
  return Type.Object(parts, { additionalProperties: false });
}

type HearthdInvoke = {
  readonly [N in HearthdCallName]: { request: TUnsafe<HearthdIpcRequest<N>>; response: Endpoints[N]['response'] };
};
const hearthdInvoke = Object.fromEntries(
  hearthdCalls.map((name) => [name, { request: requestSchema(endpoints[name]), response: endpoints[name].response }]),
) as unknown as HearthdInvoke;

// ---------------------------------------------------------------------------------------------
// Subscriptions: a stream the window starts and stops; its items arrive as `subscription` events

export interface TopicDef {
  readonly request: TSchema;
  readonly event: TSchema;
}

export const ipcTopics = {
  /** Follow an environment's console (or event log): the last lines first, then each new one. */
  logs: {
    request: Type.Object(
      {
        params: EnvironmentParams,
        query: Type.Optional(
          Type.Object(
            { tail: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })), source: Type.Optional(LogSource) },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false },
    ),
    event: LogLinesEvent,
  },
  /** Follow hearthd's own log (what the caller may see of it): the last entries first, then new ones. */
  hearthdLog: {
    request: Type.Object(
      {
        query: Type.Optional(
          Type.Object(
            { tail: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })), level: Type.Optional(LogLevel) },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false },
    ),
    event: HearthdLogEntriesEvent,
  },
} as const satisfies Record<string, TopicDef>;

export type IpcTopicName = keyof typeof ipcTopics;
export type TopicRequest<T extends IpcTopicName> = Static<(typeof ipcTopics)[T]['request']>;
export type TopicEvent<T extends IpcTopicName> = Static<(typeof ipcTopics)[T]['event']>;
export type SubscribeRequest = { [T in IpcTopicName]: { topic: T; request: TopicRequest<T> } }[IpcTopicName];

const SubscribeRequest = Type.Union(
  Object.entries(ipcTopics).map(([topic, def]) =>
    Type.Object({ topic: Type.Literal(topic), request: def.request }, { additionalProperties: false }),
  ),
) as unknown as TUnsafe<SubscribeRequest>;

export const SubscriptionId = Type.String({ pattern: '^sub-[0-9]+$', maxLength: 32 });

// ---------------------------------------------------------------------------------------------
// Errors

export const IpcErrorCode = OneOf(['invalid-request', 'forbidden', 'unavailable', 'failed', 'internal']);
export type IpcErrorCode = Static<typeof IpcErrorCode>;

/**
 * `source: 'ipc'` — the app refused or failed (bad argument, foreign sender, hearthd unreachable);
 * `source: 'hearthd'` — hearthd answered with an error, passed on whole so a form can mark the
 * field each of `details` names.
 */
export const IpcError = Type.Union([
  Type.Object(
    {
      source: Type.Literal('ipc'),
      code: IpcErrorCode,
      message: Type.String(),
      /** invalid-request: which fields were wrong (same shape as hearthd's). */
      details: ErrorBody.properties.details,
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      source: Type.Literal('hearthd'),
      status: Type.Integer(),
      code: ErrorCode,
      message: Type.String(),
      hint: ErrorBody.properties.hint,
      details: ErrorBody.properties.details,
    },
    { additionalProperties: false },
  ),
]);
export type IpcError = Static<typeof IpcError>;

/** Every invoke resolves to this union, so an error's code and message survive the trip. */
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: IpcError };

// ---------------------------------------------------------------------------------------------
// The table

export interface InvokeDef {
  readonly request: TSchema;
  readonly response: TSchema;
}

export const ipcInvoke = {
  getAppInfo: { request: Empty, response: AppInfo },
  setAutostart: {
    request: Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false }),
    response: AppInfo,
  },
  setCloseAction: {
    request: Type.Object({ closeAction: CloseAction }, { additionalProperties: false }),
    response: AppInfo,
  },
  getConnection: { request: Empty, response: ConnectionStatus },
  /** Reconnect now instead of waiting for the next backoff step. */
  reconnect: { request: Empty, response: ConnectionStatus },
  getInstallRun: { request: Empty, response: Type.Union([InstallRun, Type.Null()]) },
  /** Whether `hearth` is on PATH and where; whether the app may offer to link it (runInstaller link-cli). */
  getCliStatus: { request: Empty, response: CliStatus },
  runInstaller: { request: InstallRequest, response: InstallRun },
  copyText: { request: CopyText, response: Empty },
  /** Write a log the window holds to a file: Electron asks where; browser mode saves into its directory. */
  saveLog: { request: SaveLogRequest, response: SaveLogResult },
  /** The user's SSH key, Hearth's ssh_config and whether ~/.ssh/config includes it (user/ssh). */
  getSshSetup: { request: Empty, response: SshSetup },
  /** Make the ed25519 key pair as the user (ssh-keygen), unless one exists. */
  createSshKey: { request: Empty, response: SshSetup },
  /** The user's consent (or its withdrawal): the one Include line at the top of ~/.ssh/config. */
  setSshInclude: {
    request: Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false }),
    response: SshSetup,
  },
  /** Start a subscription; its items and its end arrive as `subscription` events with this id. */
  subscribe: {
    request: SubscribeRequest,
    response: Type.Object({ id: SubscriptionId }, { additionalProperties: false }),
  },
  /** Stop a subscription (unknown or ended ids are fine: stopping is idempotent). */
  unsubscribe: { request: Type.Object({ id: SubscriptionId }, { additionalProperties: false }), response: Empty },
  ...hearthdInvoke,
} as const satisfies Record<string, InvokeDef>;

/** One item of a subscription, or its end (hearthd ended the stream, it failed, or it was stopped). */
export type SubscriptionEvent =
  | { [T in IpcTopicName]: { id: string; topic: T; kind: 'item'; item: TopicEvent<T> } }[IpcTopicName]
  | { id: string; topic: IpcTopicName; kind: 'end'; error?: IpcError };
const SubscriptionEvent = Type.Union([
  ...Object.entries(ipcTopics).map(([topic, def]) =>
    Type.Object(
      { id: SubscriptionId, topic: Type.Literal(topic), kind: Type.Literal('item'), item: def.event },
      { additionalProperties: false },
    ),
  ),
  Type.Object(
    {
      id: SubscriptionId,
      topic: OneOf(Object.keys(ipcTopics) as [IpcTopicName]),
      kind: Type.Literal('end'),
      error: Type.Optional(IpcError),
    },
    { additionalProperties: false },
  ),
]) as unknown as TUnsafe<SubscriptionEvent>;

export const ipcEvents = {
  /** The connection state changed. */
  connection: ConnectionStatus,
  /** An event from hearthd's stream, forwarded as is (hello after every reconnect). */
  hearthd: HearthEvent,
  /** The installer made progress. */
  install: InstallRun,
  /** An item or the end of a subscription started with `subscribe`. */
  subscription: SubscriptionEvent,
  /** Main asks the window to show a route (a notification or the tray was clicked): the router's hash. */
  navigate: Type.Object(
    { route: Type.String({ pattern: '^#/[A-Za-z0-9/_.%-]*$', maxLength: 256 }) },
    { additionalProperties: false },
  ),
} as const satisfies Record<string, TSchema>;

export type IpcInvokeName = keyof typeof ipcInvoke;
export type IpcEventName = keyof typeof ipcEvents;
export type IpcRequest<N extends IpcInvokeName> = Static<(typeof ipcInvoke)[N]['request']>;
export type IpcResponse<N extends IpcInvokeName> = Static<(typeof ipcInvoke)[N]['response']>;
export type IpcEvent<N extends IpcEventName> = Static<(typeof ipcEvents)[N]>;

/** Channel names on the wire: one prefix, so the preload can refuse anything else. */
export const IPC_PREFIX = 'hearth:';
export const invokeChannel = (name: IpcInvokeName): string => `${IPC_PREFIX}invoke:${name}`;
export const eventChannel = (name: IpcEventName): string => `${IPC_PREFIX}event:${name}`;
export const ipcInvokeNames = Object.keys(ipcInvoke) as IpcInvokeName[];
export const ipcEventNames = Object.keys(ipcEvents) as IpcEventName[];

/** What the preload exposes as `window.hearth` (and the browser bridge implements). */
export interface HearthApi {
  invoke<N extends IpcInvokeName>(name: N, request: IpcRequest<N>): Promise<IpcResult<IpcResponse<N>>>;
  on<N extends IpcEventName>(name: N, listener: (event: IpcEvent<N>) => void): () => void;
}
