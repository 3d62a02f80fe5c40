import { useEffect, useEffectEvent } from 'react';
import type { HearthApi, IpcEvent, IpcEventName, IpcInvokeName, IpcRequest, IpcResponse } from '#protocol';

declare global {
  interface Window {
    /** Exposed by the preload (Electron) or the dev:web bridge client (browser mode). */
    readonly hearth?: HearthApi;
  }
}

export class HearthCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function api(): HearthApi {
  if (!window.hearth)
    throw new HearthCallError('unavailable', 'window.hearth is missing: this page must run inside Hearth.');
  return window.hearth;
}

/** Calls main and unwraps the success|error union into a value or a thrown HearthCallError. */
export async function call<N extends IpcInvokeName>(name: N, request: IpcRequest<N>): Promise<IpcResponse<N>> {
  const result = await api().invoke(name, request);
  if (!result.ok) throw new HearthCallError(result.error.code, result.error.message);
  return result.value;
}

export function useHearthEvent<N extends IpcEventName>(name: N, listener: (event: IpcEvent<N>) => void): void {
  const onEvent = useEffectEvent(listener);
  useEffect(() => (window.hearth ? window.hearth.on(name, (event) => onEvent(event)) : undefined), [name]);
}
