import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { environmentKeys } from '../features/environment/queries.js';
import { envKeys } from '../features/environments/queries.js';
import { applyEnvironmentEvent, useStats } from '../features/environments/stats.js';
import { applyImageEvent } from '../features/images/queries.js';
import { call, HearthCallError, useHearthEvent } from '../hearth.js';
import { keys } from '../queries.js';
import { usePushed } from '../store.js';

/**
 * Mirrors what main pushes (connection, installer) into the store, and turns hearthd's events into
 * query invalidations — once for the whole app, so every page sees the same state whichever is open.
 * Returns the error that means the app process itself is unreachable (nothing else can work then).
 */
export function useMainSync(): string | null {
  const queryClient = useQueryClient();
  const { setConnection, setInstall } = usePushed();
  const [fatal, setFatal] = useState<string | null>(null);

  // What main pushes: the current value once, then every change.
  useEffect(() => {
    Promise.all([call('getConnection', {}), call('getInstallRun', {})]).then(
      ([status, run]) => {
        setConnection(status);
        setInstall(run);
      },
      (error: unknown) => setFatal(error instanceof HearthCallError ? error.message : String(error)),
    );
  }, [setConnection, setInstall]);
  useHearthEvent('connection', setConnection);
  useHearthEvent('install', setInstall);
  useHearthEvent('hearthd', (event) => {
    // hello follows every reconnect: whatever was cached may have changed while we were away.
    if (event.type === 'hello') {
      void queryClient.invalidateQueries();
      // Figures of environments deleted while away would linger; the next stats event refills.
      useStats.getState().reset();
    }
    if (event.type === 'readiness') void queryClient.invalidateQueries({ queryKey: keys.host });
    if (event.type === 'environment') {
      void queryClient.invalidateQueries({ queryKey: envKeys.list });
      // Each change is a line in its event log too: the details page's timeline refetches.
      void queryClient.invalidateQueries({ queryKey: environmentKeys.events(event.environment.id) });
      applyEnvironmentEvent(event);
      // An image's "used by" count moves with environments created and deleted.
      if (event.change !== 'updated') void queryClient.invalidateQueries({ queryKey: envKeys.images });
    }
    if (event.type === 'stats') useStats.getState().record(event.environments);
    if (event.type === 'config') void queryClient.invalidateQueries({ queryKey: keys.config });
    if (event.type === 'classes') void queryClient.invalidateQueries({ queryKey: envKeys.classes });
    if (event.type === 'image') applyImageEvent(queryClient, event);
  });
  // A notification or the tray was clicked: main says where to go (the router's own hash).
  useHearthEvent('navigate', ({ route }) => {
    window.location.hash = route;
  });
  return fatal;
}
