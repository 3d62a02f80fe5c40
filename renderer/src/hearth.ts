import { useEffect, useEffectEvent } from 'react';
import type { HearthApi, IpcError, IpcEvent, IpcEventName, IpcInvokeName, IpcRequest, IpcResponse } from '#protocol';

declare global {
  interface Window {
    /** Exposed by the preload (Electron) or the dev:web bridge client (browser mode). */
    readonly hearth?: HearthApi;
  }
}

/** A failed call; `error` is the whole IPC error, so a form can mark the fields `details` names. */
export class HearthCallError extends Error {
  readonly code: string;
  constructor(readonly error: IpcError) {
    super(error.message);
    this.code = error.code;
  }
}

export function api(): HearthApi {
  if (!window.hearth)
    throw new HearthCallError({
      source: 'ipc',
      code: 'unavailable',
      message: 'window.hearth is missing: this page must run inside Hearth.',
    });
  return window.hearth;
}

/** Calls main and unwraps the success|error union into a value or a thrown HearthCallError. */
export async function call<N extends IpcInvokeName>(name: N, request: IpcRequest<N>): Promise<IpcResponse<N>> {
  const result = await api().invoke(name, request);
  if (!result.ok) throw new HearthCallError(result.error);
  return result.value;
}

export function useHearthEvent<N extends IpcEventName>(name: N, listener: (event: IpcEvent<N>) => void): void {
  const onEvent = useEffectEvent(listener);
  useEffect(() => (window.hearth ? window.hearth.on(name, (event) => onEvent(event)) : undefined), [name]);
}
