import { contextBridge } from 'electron';

/**
 * The renderer's only door to the app. It grows into the typed IPC surface (issue #4); the
 * renderer must never receive ipcRenderer or any Node object itself.
 */
const api = {
  platform: 'linux' as const,
};

export type HearthBridge = typeof api;

contextBridge.exposeInMainWorld('hearth', api);
