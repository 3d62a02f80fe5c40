import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Settings } from '#protocol';
import { createFollowers, createHandlers } from '../api/handlers.js';
import { identifyPeer } from '../api/peer.js';
import type { ApiLimits } from '../api/limits.js';
import { buildServer, type HearthServer } from '../api/server.js';
import { SseStreams } from '../api/sse.js';
import { loadSocketCredentials } from '../api/socket-credentials.js';
import { ClassStore } from '../environments/class-store.js';
import { EnvironmentManager, type CrashPoint } from '../environments/environment-manager.js';
import { lookupUser, type VmmUser } from '../system/passwd.js';
import { EventBus } from '../events/event-bus.js';
import { findExecutable } from '../system/executables.js';
import { HostRoot } from '../system/host-root.js';
import { ReadinessService } from '../readiness/readiness-service.js';
import { ImageStore } from '../images/image-store.js';
import { ImageWatcher } from '../images/image-watch.js';
import { ImageCatalogService } from '../images/catalog/catalog-service.js';
import { catalogAt } from '../images/catalog/entries.js';
import type { Logger } from '../log.js';
import { LogRing } from '../log-ring.js';
import { SettingsStore } from '../settings/settings-store.js';
import { HEARTHD_VERSION } from '../version.js';
import { VmmRegistry } from '../vmm/registry.js';
import { NetworkService } from '../network/network-service.js';
import { NetworkTools } from '../network/tools.js';
import { DEFAULT_BRIDGE } from '../network/names.js';
import { AccessChecker } from '../repositories/check/access-checker.js';
import { resolveGitUser } from '../repositories/check/git-user.js';
import { RepositoryAccessService } from '../environments/repository/access-service.js';
import { CREDENTIAL_HELPER_PATH, SSH_AGENT_SOCKET } from '../guest/relay-paths.js';
import { RepositoryStore } from '../repositories/store/repository-store.js';
import { claimSocketPath, secureSocket } from './socket.js';

/** How often running environments' figures go out as a `stats` event. */
const STATS_INTERVAL_MS = 2_000;

export interface DaemonOptions {
  socket: string;
  stateDir: string;
  runtimeDir: string;
  /** Where machine facts are read from; "/" except in tests. */
  hostRoot: string;
  socketGroup: string;
  settingsFlags: Partial<Settings>;
  /**
   * The user VMM processes run as. `undefined`: "hearth-vmm" when that user exists, else the user
   * running hearthd (logged as a warning). An explicit name must exist.
   */
  vmmUser?: string | undefined;
  /**
   * The user access checks run git and ssh as. `undefined`: "hearth-git" when that user exists;
   * root without it refuses checks. An explicit name must exist.
   */
  gitUser?: string | undefined;
  /** Test-only: how long an access check's git may take (default 30 s). */
  gitCheckTimeoutMs?: number | undefined;
  /** Test-only: a Cloud Hypervisor binary outside the system directories (the contract double). */
  cloudHypervisorBinary?: string | undefined;
  /** Test-only: kill hearthd at this point of a create or delete. */
  crashAt?: CrashPoint | undefined;
  /** Mirror/test-only: catalog entries are read from `<url>/<name>/` instead of the image sites. */
  catalogBaseUrl?: string | undefined;
  /** Test-only: check every catalog signature against this keyring file instead of the shipped ones. */
  catalogKeyring?: string | undefined;
  /** Test-only: this environment's cloud-init gets a failing step (`--test-provision-fail NAME`). */
  testProvisionFail?: string | undefined;
  /** What one caller may hold (api/limits.ts); lowered only by tests. */
  apiLimits?: ApiLimits | undefined;
}

async function resolveVmmUser(name: string | undefined, log: Logger): Promise<VmmUser | undefined> {
  const wanted = name ?? 'hearth-vmm';
  const user = await lookupUser(wanted);
  if (user) return user.uid === process.getuid?.() ? undefined : user;
  if (name !== undefined) throw new Error(`--vmm-user ${name}: no such user; create it or choose another`);
  log.warn('user "hearth-vmm" does not exist: VMM processes run as the user running hearthd (install creates it)');
  return undefined;
}

/**
 * The VMM user reaches its own files below the state and runtime directories, so it must be able
 * to traverse them (o+x; not list them). Installed /run/hearth is 0750 root:hearth, which would
 * lock it out; this adds only the search bit.
 */
async function letVmmUserTraverse(dirs: string[], log: Logger): Promise<void> {
  for (const dir of dirs) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) {
      await chmod(dir, (mode & 0o7777) | 0o001);
      log.info({ dir, mode: ((mode & 0o7777) | 0o001).toString(8) }, 'let the VMM user traverse the directory');
    }
  }
}

async function hostMemoryMiB(): Promise<number> {
  const meminfo = await readFile('/proc/meminfo', 'utf8');
  const kib = Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0);
  return Math.floor(kib / 1024);
}

export interface RunningDaemon {
  /** Stops accepting, ends event streams, lets in-flight requests finish, removes the socket. */
  close(): Promise<void>;
}

/** `logRing` is where `log` also writes (log.ts createLogger): the API serves it as GET /v1/log. */
export async function startDaemon(
  options: DaemonOptions,
  log: Logger,
  logRing = new LogRing(),
): Promise<RunningDaemon> {
  // Without it no caller can be named: refuse to start rather than serve everyone as "unknown".
  const credentials = loadSocketCredentials();
  await mkdir(options.stateDir, { recursive: true, mode: 0o711 });
  await mkdir(options.runtimeDir, { recursive: true, mode: 0o755 });
  await claimSocketPath(options.socket);

  const bus = new EventBus();
  // A fixture tree a test made as itself holds binaries owned by that user, not root.
  const host = new HostRoot(options.hostRoot, options.hostRoot === '/' ? 0 : (process.getuid?.() ?? 0));
  const settings = await SettingsStore.open(join(options.stateDir, 'settings.json'), options.settingsFlags, log);
  const readiness = new ReadinessService(host, options.stateDir, bus, log, () => settings.effective);
  const vmmUser = await resolveVmmUser(options.vmmUser, log);
  if (vmmUser) await letVmmUserTraverse([options.stateDir, options.runtimeDir], log);
  const gitUser = await resolveGitUser(options.gitUser);
  if (gitUser === null)
    log.warn('user "hearth-git" does not exist: repository access checks are refused (install creates it)');
  // The git user reaches its scratch directories below the state directory.
  if (gitUser) await letVmmUserTraverse([options.stateDir], log);
  const classes = await ClassStore.open(join(options.stateDir, 'classes.json'));
  const images = new ImageStore(join(options.stateDir, 'images'));
  const vmms = new VmmRegistry(
    host,
    { cloudHypervisorBinary: options.cloudHypervisorBinary, stateDir: options.stateDir },
    () => readiness.kvmBootsGuests(),
  );
  const qemuImg = async () => {
    const found = await findExecutable(host, 'qemu-img');
    if (!found.found) throw new Error('qemu-img is not installed (Debian/Ubuntu: apt-get install qemu-utils)');
    return found.executable.hostPath;
  };
  const program = async (name: string) => {
    const found = await findExecutable(host, name);
    if (!found.found) throw new Error(`${name} is not installed in a system directory (or not root's)`);
    return found.executable.hostPath;
  };
  const network = new NetworkService({
    runtimeDir: options.runtimeDir,
    bridge: DEFAULT_BRIDGE,
    tools: new NetworkTools(host),
    settings: () => settings.effective,
    log: log.child({ part: 'network' }),
  });
  await network.open();
  const repositories = new RepositoryStore(options.stateDir, log.child({ part: 'repositories' }));
  const environments = new EnvironmentManager({
    stateDir: options.stateDir,
    runtimeDir: options.runtimeDir,
    bus,
    log,
    settings: () => settings.effective,
    classes,
    images,
    vmms,
    qemuImg,
    program,
    vmmUser,
    hostMemoryMiB,
    network,
    crashAt: options.crashAt,
    testProvisionFail: options.testProvisionFail,
    repositories: new RepositoryAccessService(repositories, {
      credentialHelper: CREDENTIAL_HELPER_PATH,
      sshAgentSocket: SSH_AGENT_SOCKET,
    }),
  });
  await environments.open();
  const accessChecker = new AccessChecker({
    store: repositories,
    gitUser,
    scratchRoot: join(options.stateDir, 'git-check'),
    timeoutMs: options.gitCheckTimeoutMs,
    program,
    log: log.child({ part: 'repositories' }),
  });
  await accessChecker.open();
  const catalog = new ImageCatalogService({
    entries: catalogAt(options.catalogBaseUrl),
    images,
    bus,
    log,
    host,
    qemuImg,
    keyring: options.catalogKeyring === undefined ? undefined : await readFile(options.catalogKeyring),
  });
  await catalog.open();
  const imageWatcher = new ImageWatcher(images, bus, log);
  await imageWatcher.open();
  // After recovery: the VMs that survived keep their network; without any, leftovers go.
  await network.reconcile().catch((error: unknown) => log.error({ err: error }, 'network reconcile failed'));
  const streams = new SseStreams(
    bus,
    () => bus.unpublished({ type: 'hello', hearthd: HEARTHD_VERSION, api: 'v1' }),
    log,
    options.apiLimits?.stallMs,
  );

  // Sampled only while someone could want them: each running VMM costs two /proc reads.
  const statsTimer = setInterval(() => {
    void environments
      .runningStats()
      .then((figures) => {
        if (figures.length && streams.count) bus.publish({ type: 'stats', environments: figures });
      })
      .catch((error: unknown) => log.warn({ error }, 'sampling stats failed'));
  }, STATS_INTERVAL_MS);

  let heartbeat: NodeJS.Timeout | undefined;
  const applySettings = () => {
    const { heartbeatSeconds, readinessIntervalSeconds } = settings.effective;
    clearInterval(heartbeat);
    heartbeat = setInterval(() => bus.publish({ type: 'heartbeat' }), heartbeatSeconds * 1000);
    readiness.schedule(readinessIntervalSeconds);
    // The accelerator and the subnet are judged too: a changed setting can change the verdict.
    readiness.refresh().catch((error: unknown) => log.error({ err: error }, 'readiness probe failed'));
  };

  // The OpenAPI document is generated by the server the handlers are registered on.
  let app: HearthServer | undefined = undefined;
  const handlers = createHandlers({
    bus,
    readiness,
    settings,
    environments,
    classes,
    images,
    catalog,
    logRing,
    repositories,
    accessChecker,
    detectVmms: () => vmms.detected(),
    applySettings,
    checkNetworkSubnet: (cidr) => network.checkSubnet(cidr, environments.networkHosts()),
    openApiDocument: () => app!.swagger() as never,
  });
  app = await buildServer({
    log,
    handlers,
    followers: createFollowers({ environments, logRing }),
    streams,
    identify: (socket) => identifyPeer(credentials, socket),
    limits: options.apiLimits,
  });
  app.addHook('preClose', (done) => {
    clearInterval(heartbeat);
    clearInterval(statsTimer);
    readiness.stop();
    environments.close();
    catalog.close();
    imageWatcher.close();
    network.close();
    streams.endAll();
    done();
  });

  // The socket must never be reachable by others, not even between listen() and chmod().
  const previousUmask = process.umask(0o117);
  try {
    await app.listen({ path: options.socket });
  } finally {
    process.umask(previousUmask);
  }
  const access = await secureSocket(options.socket, options.socketGroup);
  log.info(
    { socket: options.socket, ...access, stateDir: options.stateDir, version: HEARTHD_VERSION },
    'hearthd listening',
  );

  applySettings();
  readiness.refresh().then(
    (report) => log.info({ verdict: report.verdict, reason: report.reason }, 'host readiness'),
    (error: unknown) => log.error({ err: error }, 'initial readiness probe failed'),
  );

  const server = app;
  return {
    async close() {
      await server.close();
    },
  };
}
