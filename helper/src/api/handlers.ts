import {
  API_REVISION,
  API_VERSION,
  type CallableName,
  type DetectedVmm,
  type HandlerRequestOf,
  type ResponseOf,
} from '#protocol';
import type { EventBus } from '../events/event-bus.js';
import type { ReadinessService } from '../host/readiness-service.js';
import type { SettingsStore } from '../settings/settings-store.js';
import { HEARTHD_VERSION } from '../version.js';

export type Handlers = { [N in CallableName]: (request: HandlerRequestOf<N>) => Promise<ResponseOf<N>> };

export interface Services {
  bus: EventBus;
  readiness: ReadinessService;
  settings: SettingsStore;
  detectVmms: () => Promise<DetectedVmm[]>;
  /** Re-applies timers and anything else that follows the settings. */
  applySettings: () => void;
  openApiDocument: () => ResponseOf<'getOpenApi'>;
}

export function createHandlers(services: Services): Handlers {
  return {
    getVersion: async () => ({
      hearthd: HEARTHD_VERSION,
      api: API_VERSION,
      apiRevision: API_REVISION,
      vmms: await services.detectVmms(),
    }),
    getHost: ({ query }) => services.readiness.report(query.fresh ?? false),
    getOpenApi: () => Promise.resolve(services.openApiDocument()),
    getConfig: () => Promise.resolve(services.settings.view()),
    updateConfig: async ({ body }) => {
      const view = await services.settings.update(body);
      services.applySettings();
      services.bus.publish({ type: 'config', settings: view.settings });
      return view;
    },
  };
}
