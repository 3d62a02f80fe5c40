import { Value } from '@sinclair/typebox/value';
import {
  ipcInvoke,
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

export type IpcHandlers = { [N in IpcInvokeName]: (request: IpcRequest<N>) => Promise<IpcResponse<N>> };

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
      const problems = [...Value.Errors(schema, request)]
        .slice(0, 3)
        .map((e) => `${e.path || '(request)'} ${e.message}`);
      return fail('invalid-request', `Invalid ${name} request: ${problems.join('; ')}`);
    }
    try {
      const handler = this.handlers[name] as (request: unknown) => Promise<unknown>;
      return { ok: true, value: await handler(request) };
    } catch (error) {
      if (error instanceof IpcFailure) return fail(error.code, error.message);
      if (error instanceof HearthdUnreachableError) return fail('unavailable', error.message);
      if (error instanceof HearthdError) return fail('failed', error.message);
      this.onError(name, error);
      return fail('internal', `${name} failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

const fail = (code: IpcErrorCode, message: string): IpcResult<never> => ({ ok: false, error: { code, message } });
