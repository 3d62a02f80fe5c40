import { contextBridge, ipcRenderer } from 'electron';
import { eventChannel, invokeChannel, ipcEventNames, ipcInvokeNames, type HearthApi } from '#protocol';

/**
 * The renderer's only door to the app: `window.hearth`, with request/response calls and event
 * subscriptions from the shared contract, and nothing else. The renderer never receives
 * ipcRenderer, an event object or any Node value; unknown names are refused here already (main
 * refuses them again, and validates every argument).
 */
const invokeNames = new Set<string>(ipcInvokeNames);
const eventNames = new Set<string>(ipcEventNames);

const api: HearthApi = {
  invoke(name, request) {
    if (!invokeNames.has(name)) {
      return Promise.resolve({
        ok: false,
        error: { source: 'ipc', code: 'invalid-request', message: `unknown call ${name}` },
      });
    }
    return ipcRenderer.invoke(invokeChannel(name), request) as never;
  },
  on(name, listener) {
    if (!eventNames.has(name)) throw new Error(`unknown event ${name}`);
    const channel = eventChannel(name);
    const wrapped = (_event: Electron.IpcRendererEvent, payload: unknown) =>
      (listener as (p: unknown) => void)(payload);
    ipcRenderer.on(channel, wrapped);
    return () => {
      ipcRenderer.removeListener(channel, wrapped);
    };
  },
};

contextBridge.exposeInMainWorld('hearth', api);
