import { useEffect, useRef } from 'react';
import { navigate, type Route } from '../../app/router.js';
import { useHostReport } from '../../queries.js';
import { usePushed } from '../../store.js';
import { useImages } from '../environments/queries.js';
import { SETUP_STEPS } from './steps.js';
import { contextSettled, setupComplete, type SetupContext } from './setupSteps.js';

export function useSetupContext(): SetupContext {
  const { connection, install } = usePushed();
  const connected = connection?.state === 'connected';
  const host = useHostReport(connected);
  const images = useImages(connected);
  return { connection, install, host: host.data ?? null, images: images.data ?? null };
}

/**
 * At start, until setup is complete, the app opens on the wizard: once, as soon as the state is
 * known, and only from the dashboard (a deep link, or a later visit to the dashboard, is left alone).
 */
export function useSetupAtStart(route: Route): void {
  const context = useSetupContext();
  const decided = useRef(false);
  const settled = contextSettled(context);
  const complete = settled && setupComplete(SETUP_STEPS, context);
  useEffect(() => {
    if (decided.current || !settled) return;
    decided.current = true;
    if (!complete && route.page === 'dashboard') navigate({ page: 'setup' });
  }, [settled, complete, route.page]);
}
