import { Value } from '@sinclair/typebox/value';
import {
  ipcInvoke,
  type IpcError,
  type IpcErrorCode,
  type IpcInvokeName,
  type IpcRequest,
  type IpcResponse,
  type IpcResult,
} from '#protocol';
import { HearthdError, HearthdUnreachableError } from '#protocol/client';

/** Who sent an IPC request, as far as the main process can tell. */
export type IpcSender =
  | {
      kind: 'electron';
      /** URL of the frame that sent it. */
      frameUrl: string;
      /** Is that frame the top-level frame of its page? */
      isMainFrame: boolean;
      /** The webContents it came from. */
      webContentsId: number;
    }
  /** The browser-mode loopback bridge, after it checked its token and origin. */
  | { kind: 'bridge'; authenticated: boolean };

/**
 * Whose request a handler serves, for what outlives the call (subscriptions): one key per
 * window (Electron webContents) or one for the bridge.
 */
export interface IpcContext {
  owner: string;
}

export type IpcHandlers = {
  [N in IpcInvokeName]: (request: IpcRequest<N>, context: IpcContext) => Promise<IpcResponse<N>>;
};

export const ownerOf = (sender: IpcSender): string =>
  sender.kind === 'electron' ? `webContents:${sender.webContentsId}` : 'bridge';

/** hearthd's error body as is, or the app-level code for everything else. */
export function toIpcError(error: unknown): IpcError | undefined {
  if (error instanceof IpcFailure) return { source: 'ipc', code: error.code, message: error.message };
  if (error instanceof HearthdUnreachableError) return { source: 'ipc', code: 'unavailable', message: error.message };
  if (error instanceof HearthdError) {
    return {
      source: 'hearthd',
      status: error.status,
      code: error.code,
      message: error.message,
      ...(error.hint !== undefined && { hint: error.hint }),
      ...(error.details !== undefined && { details: error.details }),
    };
  }
  return undefined;
}

/** A failure meant for the user: its message reaches the UI as is. */
export class IpcFailure extends Error {
  constructor(
    readonly code: IpcErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The trust policy for Electron senders: only the main frame of our one window, showing our own
 * bundled page. Iframes, other windows and anything navigated elsewhere are refused.
 */
export function electronSenderPolicy(expected: { rendererUrl: string; webContentsId: () => number | undefined }) {
  return (sender: IpcSender): boolean => {
    if (sender.kind !== 'electron') return false;
    if (!sender.isMainFrame) return false;
    if (sender.webContentsId !== expected.webContentsId()) return false;
    const strip = (url: string) => url.split(/[?#]/, 1)[0];
    return strip(sender.frameUrl) === strip(expected.rendererUrl);
  };
}

export const bridgeSenderPolicy = (sender: IpcSender): boolean => sender.kind === 'bridge' && sender.authenticated;

const isInvokeName = (name: string): name is IpcInvokeName => Object.hasOwn(ipcInvoke, name);

/**
 * Every renderer request passes through here: the sender is checked, the arguments validated
 * against the shared contract, and the outcome returned as a success|error union, so handlers
 * only ever see well-formed requests from our own page.
 */
export class IpcRouter {
  constructor(
    private readonly handlers: IpcHandlers,
    private readonly isTrusted: (sender: IpcSender) => boolean,
    private readonly onError: (name: string, error: unknown) => void = () => undefined,
  ) {}

  async handle(name: string, sender: IpcSender, request: unknown): Promise<IpcResult<unknown>> {
    if (!this.isTrusted(sender)) {
      return fail('forbidden', 'This request did not come from the Hearth window.');
    }
    if (!isInvokeName(name)) return fail('invalid-request', `There is no call named ${JSON.stringify(name)}.`);
    const schema = ipcInvoke[name].request;
    if (!Value.Check(schema, request)) {
      const details = [...Value.Errors(schema, request)]
        .slice(0, 5)
        .map((e) => ({ path: e.path.replace(/^\//, '') || 'request', message: e.message })); // hearthd's path style
      const problems = details.slice(0, 3).map((d) => `${d.path} ${d.message}`);
      return {
        ok: false,
        error: {
          source: 'ipc',
          code: 'invalid-request',
          message: `Invalid ${name} request: ${problems.join('; ')}`,
          details,
        },
      };
    }
    try {
      const handler = this.handlers[name] as (request: unknown, context: IpcContext) => Promise<unknown>;
      return { ok: true, value: await handler(request, { owner: ownerOf(sender) }) };
    } catch (error) {
      const known = toIpcError(error);
      if (known) return { ok: false, error: known };
      this.onError(name, error);
      return fail('internal', `${name} failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

const fail = (code: IpcErrorCode, message: string): IpcResult<never> => ({
  ok: false,
  error: { source: 'ipc', code, message },
});
