import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { HearthEvent } from './events.js';
import { OneOf } from './schemas/common.js';
import { HostReport } from './schemas/host.js';
import { VersionInfo } from './schemas/system.js';

/**
 * The renderer ↔ main contract (`window.hearth`), declared once. The main process validates every
 * request against these schemas and checks the sender; the preload exposes exactly these names;
 * the renderer gets its types from here. Browser mode carries the same messages over a loopback
 * bridge. Adding a call is one row below.
 */

// ---------------------------------------------------------------------------------------------
// Connection to hearthd, as the app sees it

export const ConnectionState = OneOf(
  ['connecting', 'not-installed', 'stopped', 'permission-denied', 'connected', 'version-mismatch', 'unreachable'],
  { description: 'How the app stands with hearthd right now' },
);
export type ConnectionState = Static<typeof ConnectionState>;

export const ConnectionStatus = Type.Object(
  {
    state: ConnectionState,
    /** One sentence a person can act on. */
    message: Type.String(),
    socket: Type.String(),
    /** The running hearthd, when it answered. */
    version: Type.Optional(VersionInfo),
    /** The hearthd this app ships; when it differs from the running one, the installer upgrades. */
    bundledVersion: Type.String(),
    upgradeAvailable: Type.Boolean(),
    /** When the next reconnect attempt is due (ms since epoch), while not connected. */
    retryAt: Type.Optional(Type.Number()),
    since: Type.Number({ description: 'When this state began (ms since epoch)' }),
  },
  { additionalProperties: false },
);
export type ConnectionStatus = Static<typeof ConnectionStatus>;

// ---------------------------------------------------------------------------------------------
// Installer

export const InstallAction = OneOf(['install', 'uninstall']);
export type InstallAction = Static<typeof InstallAction>;

export const InstallStepId = OneOf([
  'authorize',
  'preflight',
  'users',
  'files',
  'unit',
  'runtime',
  'access',
  'service',
  'socket',
  'verify',
  'stop',
  'network',
  'data',
]);
export type InstallStepId = Static<typeof InstallStepId>;

export const InstallStepState = OneOf(['pending', 'running', 'changed', 'unchanged', 'skipped', 'failed']);
export type InstallStepState = Static<typeof InstallStepState>;

export const InstallStep = Type.Object(
  {
    id: InstallStepId,
    title: Type.String(),
    state: InstallStepState,
    note: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type InstallStep = Static<typeof InstallStep>;

export const InstallRun = Type.Object(
  {
    action: InstallAction,
    /** install | upgrade | repair | uninstall: what the plan decided this run is. */
    kind: OneOf(['install', 'upgrade', 'repair', 'uninstall']),
    state: OneOf(['running', 'succeeded', 'failed', 'cancelled']),
    steps: Type.Array(InstallStep),
    log: Type.Array(Type.String()),
    error: Type.Optional(Type.String()),
    startedAt: Type.Number(),
    finishedAt: Type.Optional(Type.Number()),
  },
  { additionalProperties: false },
);
export type InstallRun = Static<typeof InstallRun>;

export const InstallRequest = Type.Object(
  {
    action: InstallAction,
    /** Uninstall only: also delete environments, images and settings. */
    purge: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type InstallRequest = Static<typeof InstallRequest>;

// ---------------------------------------------------------------------------------------------
// The app itself

export const AppInfo = Type.Object(
  {
    version: Type.String(),
    /** electron: the desktop app; browser: `npm run dev:web`, a development bridge. */
    shell: OneOf(['electron', 'browser']),
    autostart: Type.Boolean(),
    trayAvailable: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type AppInfo = Static<typeof AppInfo>;

const Empty = Type.Object({}, { additionalProperties: false });

/** A string the user may copy: a remedy command, an SSH command. */
const CopyText = Type.Object({ text: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false });

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
  getConnection: { request: Empty, response: ConnectionStatus },
  /** Reconnect now instead of waiting for the next backoff step. */
  reconnect: { request: Empty, response: ConnectionStatus },
  getHost: {
    request: Type.Object({ fresh: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
    response: HostReport,
  },
  getInstallRun: { request: Empty, response: Type.Union([InstallRun, Type.Null()]) },
  runInstaller: { request: InstallRequest, response: InstallRun },
  copyText: { request: CopyText, response: Empty },
} as const satisfies Record<string, InvokeDef>;

export const ipcEvents = {
  /** The connection state changed. */
  connection: ConnectionStatus,
  /** An event from hearthd's stream, forwarded as is (hello after every reconnect). */
  hearthd: HearthEvent,
  /** The installer made progress. */
  install: InstallRun,
} as const satisfies Record<string, TSchema>;

export type IpcInvokeName = keyof typeof ipcInvoke;
export type IpcEventName = keyof typeof ipcEvents;
export type IpcRequest<N extends IpcInvokeName> = Static<(typeof ipcInvoke)[N]['request']>;
export type IpcResponse<N extends IpcInvokeName> = Static<(typeof ipcInvoke)[N]['response']>;
export type IpcEvent<N extends IpcEventName> = Static<(typeof ipcEvents)[N]>;

export const IpcErrorCode = OneOf(['invalid-request', 'forbidden', 'unavailable', 'failed', 'internal']);
export type IpcErrorCode = Static<typeof IpcErrorCode>;

/** Every invoke resolves to this union, so an error's code and message survive the trip. */
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: { code: IpcErrorCode; message: string } };

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
