import {
  API_REVISION,
  API_VERSION,
  type CallableName,
  type DetectedVmm,
  type FollowableName,
  type HandlerRequestOf,
  type ResponseOf,
  parseRepositoryUrl,
} from '#protocol';
import type { Caller, PeerIdentity } from '../caller.js';
import { isAdmin } from '../environments/access.js';
import { checkClassFits } from '../environments/caps.js';
import type { EnvironmentManager } from '../environments/environment-manager.js';
import type { ClassStore } from '../environments/class-store.js';
import type { ImageStore } from '../images/image-store.js';
import type { ImageCatalogService } from '../images/catalog/catalog-service.js';
import type { EventBus } from '../events/event-bus.js';
import type { ReadinessService } from '../readiness/readiness-service.js';
import { followRing, tailOf, type LogRing } from '../log-ring.js';
import type { SettingsStore } from '../settings/settings-store.js';
import { HEARTHD_VERSION } from '../version.js';
import { ApiError } from './api-error.js';
import { createRepositoryHandlers, type RepositoryServices } from './repository-handlers.js';
import type { SseConnection } from './sse.js';

/** What a handler may ask about the request beyond its contents. */
export interface RequestContext {
  /** The calling process's uid and groups, resolved when it connected; undefined when unknown (api/peer.ts). */
  caller: () => Promise<PeerIdentity | undefined>;
  /** The calling process's uid, where the kernel tells (see api/peer.ts). */
  callerUid: () => Promise<number | undefined>;
}

export type Handlers = {
  [N in CallableName]: (request: HandlerRequestOf<N>, context: RequestContext) => Promise<ResponseOf<N>>;
};

/**
 * Handlers for `?follow=1`: they check the request first (throwing ApiError answers with JSON),
 * then call `open()` to switch the response to server-sent events.
 */
export type Followers = {
  [N in FollowableName]: (
    request: HandlerRequestOf<N>,
    open: () => SseConnection,
    context: RequestContext,
  ) => Promise<void>;
};

export interface Services extends RepositoryServices {
  bus: EventBus;
  readiness: ReadinessService;
  settings: SettingsStore;
  environments: EnvironmentManager;
  classes: ClassStore;
  images: ImageStore;
  catalog: ImageCatalogService;
  /** hearthd's own recent log (log-ring.ts). */
  logRing: LogRing;
  detectVmms: () => Promise<DetectedVmm[]>;
  /** Re-applies timers and anything else that follows the settings. */
  applySettings: () => void;
  /** Refuses a networkSubnet the guests' network cannot take (network-service.ts checkSubnet). */
  checkNetworkSubnet: (cidr: string) => Promise<void>;
  openApiDocument: () => ResponseOf<'getOpenApi'>;
}

const DEFAULT_TAIL = 200;

async function listImages(services: Services): Promise<ResponseOf<'listImages'>> {
  const usage = services.environments.imageUsage();
  const infos = await Promise.all((await services.images.list()).map((image) => services.images.describe(image)));
  return { images: infos.map((info) => ({ ...info, usedBy: usage.get(info.name) ?? 0 })) };
}

/** The caller as the domain sees it: uid and groups from the kernel, admin from the groups. */
export async function callerOf(context: Pick<RequestContext, 'caller'>): Promise<Caller> {
  const peer = await context.caller();
  if (!peer) return { uid: null, admin: false };
  return { uid: peer.uid, admin: await isAdmin(peer.uid, peer.gids) };
}

/** A repository URL that parseRepositoryUrl refuses is a 400 that names the field and says why. */
export function refuseRepositoryUrl(url: string): void {
  const check = parseRepositoryUrl(url);
  if (check.ok) return;
  throw new ApiError('invalid-request', `repository: ${check.reason}`, [
    { path: '/repository', message: check.reason },
  ]);
}

/** Settings, classes and images are the machine's: only root and hearth-admin members change them. */
async function requireAdmin(context: RequestContext): Promise<void> {
  if ((await callerOf(context)).admin) return;
  throw new ApiError(
    'forbidden',
    'Only an administrator (root or a member of the hearth-admin group) may change this',
    undefined,
    'ask an administrator, or run the command with sudo',
  );
}

export function createHandlers(services: Services): Handlers {
  const { environments, classes, bus } = services;
  return {
    ...createRepositoryHandlers(services),
    getVersion: async () => ({
      hearthd: HEARTHD_VERSION,
      api: API_VERSION,
      apiRevision: API_REVISION,
      vmms: await services.detectVmms(),
    }),
    getCaller: async (_, context) => {
      const caller = await callerOf(context);
      return { uid: caller.uid, admin: caller.admin };
    },
    getHost: ({ query }) => services.readiness.report(query.fresh ?? false),
    getOpenApi: () => Promise.resolve(services.openApiDocument()),
    getConfig: () => Promise.resolve(services.settings.view()),
    updateConfig: async ({ body }, context) => {
      await requireAdmin(context);
      if (body.networkSubnet !== undefined && body.networkSubnet !== services.settings.effective.networkSubnet)
        await services.checkNetworkSubnet(body.networkSubnet);
      const view = await services.settings.update(body);
      services.applySettings();
      services.bus.publish({ type: 'config', settings: view.settings });
      return view;
    },

    listEnvironments: async (_, context) => ({ environments: environments.list(await callerOf(context)) }),
    createEnvironment: async ({ body }, context) => {
      // Before anything else (the class, the image, the caller's caps): a hostile URL is refused as such.
      if (body.repository !== undefined) refuseRepositoryUrl(body.repository);
      else if (body.ref !== undefined || body.grantHosts !== undefined) {
        const field = body.ref !== undefined ? 'ref' : 'grantHosts';
        throw new ApiError('invalid-request', `${field}: only with a repository`, [
          { path: `/${field}`, message: 'give the repository it belongs with' },
        ]);
      }
      return environments.create(body, await callerOf(context));
    },
    getEnvironment: async ({ params }, context) => environments.get(params.id, await callerOf(context)),
    deleteEnvironment: async ({ params }, context) => environments.delete(params.id, await callerOf(context)),
    startEnvironment: async ({ params }, context) => environments.start(params.id, await callerOf(context)),
    stopEnvironment: async ({ params, query }, context) =>
      environments.stop(params.id, query.force ?? false, await callerOf(context)),
    restartEnvironment: async ({ params }, context) => environments.restart(params.id, await callerOf(context)),
    getEnvironmentLogs: async ({ params, query }, context) =>
      environments.logs(params.id, query.source ?? 'console', query.tail ?? DEFAULT_TAIL, await callerOf(context)),

    getEnvironmentStats: async ({ params }, context) => environments.stats(params.id, await callerOf(context)),
    getHearthdLog: async ({ query }, context) => {
      const view = { caller: await callerOf(context), minLevel: query.level ?? 'trace' };
      return { entries: tailOf(services.logRing, view, query.tail ?? DEFAULT_TAIL), dropped: services.logRing.dropped };
    },

    listImages: () => listImages(services),
    deleteImage: async ({ params }, context) => {
      await requireAdmin(context);
      const users = environments.imageUsage().get(params.name) ?? 0;
      if (users > 0)
        throw new ApiError(
          'conflict',
          `Image "${params.name}" is used by ${users} environment${users === 1 ? '' : 's'}`,
          undefined,
          'delete the environments created from it first',
        );
      await services.images.remove(params.name);
      bus.publish({ type: 'image', name: params.name, change: 'deleted', progress: null });
      return listImages(services);
    },
    getCatalog: () => Promise.resolve(services.catalog.list()),
    downloadImage: async ({ params }, context) => {
      await requireAdmin(context);
      return services.catalog.download(params.name);
    },
    listClasses: () => Promise.resolve({ classes: classes.list() }),
    getClass: ({ params }) => {
      const found = classes.get(params.name);
      if (!found) throw new ApiError('not-found', `There is no environment class "${params.name}"`);
      return Promise.resolve(found);
    },
    putClass: async ({ params, body }, context) => {
      await requireAdmin(context);
      checkClassFits({ name: params.name, ...body }, services.settings.effective);
      const saved = await classes.put(params.name, body);
      bus.publish({ type: 'classes', classes: classes.list() });
      return saved;
    },
    deleteClass: async ({ params }, context) => {
      await requireAdmin(context);
      if (!classes.get(params.name)) throw new ApiError('not-found', `There is no environment class "${params.name}"`);
      const caller = await callerOf(context);
      const users = environments.classInUse(params.name, caller);
      if (users.total)
        throw new ApiError(
          'conflict',
          `Class ${params.name} is used by ${users.total} environment(s)${users.yours.length ? `, yours: ${users.yours.join(', ')}` : ''}; delete those first`,
        );
      await classes.remove(params.name);
      bus.publish({ type: 'classes', classes: classes.list() });
      return { classes: classes.list() };
    },
  };
}

export function createFollowers(services: Pick<Services, 'environments' | 'logRing'>): Followers {
  return {
    getEnvironmentLogs: async ({ params, query }, open, context) => {
      const caller = await callerOf(context);
      services.environments.get(params.id, caller); // 404 as JSON before the stream starts
      const connection = open();
      let stop: () => void;
      try {
        stop = await services.environments.followLogs(
          params.id,
          query.source ?? 'console',
          query.tail ?? DEFAULT_TAIL,
          caller,
          {
            onLines: (lines) => connection.send('lines', { type: 'lines', lines }),
            onRoom: (resume) => connection.onDrain(resume),
            onEnd: () => connection.end(),
          },
        );
      } catch (error) {
        // Deleted meanwhile, or a file hearthd will not read: the stream ends, never lingers.
        connection.end();
        throw error;
      }
      connection.onClose(stop);
    },
    getHearthdLog: async ({ query }, open, context) => {
      const view = { caller: await callerOf(context), minLevel: query.level ?? 'trace' };
      const connection = open();
      const stop = followRing(services.logRing, view, query.tail ?? DEFAULT_TAIL, {
        send: (entries) => connection.send('entries', { type: 'entries', entries }),
        onRoom: (resume) => connection.onDrain(resume),
      });
      connection.onClose(stop);
    },
  };
}
