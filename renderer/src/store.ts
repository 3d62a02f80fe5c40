import { create } from 'zustand';
import type { ConnectionStatus, InstallRun } from '#protocol';

/**
 * What main pushes (connection state, installer progress), mirrored for the UI. Server state that
 * the UI asks for (the readiness report, app info) lives in react-query instead (queries.ts).
 */
interface PushedState {
  connection: ConnectionStatus | null;
  install: InstallRun | null;
  setConnection: (status: ConnectionStatus) => void;
  setInstall: (run: InstallRun | null) => void;
}

export const usePushed = create<PushedState>()((set) => ({
  connection: null,
  install: null,
  setConnection: (connection) => set({ connection }),
  setInstall: (install) => set({ install }),
}));
