import { hearthdCalls, type AppInfo, type HearthdCallName, type IpcEvent, type IpcEventName } from '#protocol';
import { DEFAULT_APP_SETTINGS, type AppSettingsStore } from './app-settings.js';
import type { Autostart } from './autostart.js';
import { cliStatus, type CliStatusOptions } from './cli-status.js';
import { ConnectionManager } from './connection.js';
import { Installer, readInstalledVersion, type PrivilegedRunner } from './installer.js';
import type { InstallFacts } from './installer-plan.js';
import { IpcFailure, type IpcHandlers } from './ipc-router.js';
import { saveLog, type ChooseSavePath } from './save-log.js';
import { hearthdTopics, SubscriptionHub, type TopicSources } from './subscriptions.js';
import type { SshPaths } from '../../../user/ssh/paths.js';
import { SshSide } from '../../../user/ssh/ssh-side.js';
import { isHearthdInstalled } from '../../../user/helper-state.js';

export interface AppCoreOptions {
  shell: AppInfo['shell'];
  appVersion: string;
  socketPath: string;
  /** hearth-install.sh as shipped (extraResources) or in the repo. */
  installScript: string;
  runner: PrivilegedRunner;
  /** Development and tests: install into this scratch root, with these files and this user. */
  installOverrides?: Omit<InstallFacts, 'installedVersion' | 'bundledVersion'>;
  /** Default: hearthd counts as installed when its unit or installed.env exists. */
  isInstalled?: () => Promise<boolean>;
  autostart: Autostart | null;
  /** Settings → Command line: whether to offer the /usr/local/bin/hearth link (default: only into an installOverrides root). */
  cli?: CliStatusOptions;
  trayAvailable: () => boolean;
  /** The app's own preferences (close action); null in browser mode, where there is no window to close. */
  appSettings?: AppSettingsStore | null;
  copyText: (text: string) => Promise<void>;
  /** Where saveLog writes: a save dialog (Electron) or a directory (browser mode); none: unavailable. */
  chooseSavePath?: ChooseSavePath;
  /** Where the user's SSH key and Hearth's ssh_config live (their home); none: the SSH calls are unavailable. */
  ssh?: SshPaths;
  /** Sends an event to the renderer(s). */
  emit: <N extends IpcEventName>(name: N, payload: IpcEvent<N>) => void;
  /** Subscription topics; default: served by hearthd (tests may substitute). */
  topics?: TopicSources;
  /** Connection tuning (tests). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Everything the window can ask for, independent of Electron: the connection to hearthd, the
 * installer and the app settings, exposed as the IPC handlers. The Electron main process and the
 * browser-mode bridge both serve exactly these handlers.
 */
export class AppCore {
  readonly connection: ConnectionManager;
  readonly installer: Installer;
  readonly handlers: IpcHandlers;
  readonly subscriptions: SubscriptionHub;
  readonly ssh: SshSide | null;

  constructor(private readonly options: AppCoreOptions) {
    const root = options.installOverrides?.root ?? '/';
    this.connection = new ConnectionManager({
      socketPath: options.socketPath,
      bundledVersion: options.appVersion,
      isInstalled: options.isInstalled ?? (() => isHearthdInstalled(root)),
      ...(options.initialBackoffMs !== undefined && { initialBackoffMs: options.initialBackoffMs }),
      ...(options.maxBackoffMs !== undefined && { maxBackoffMs: options.maxBackoffMs }),
    });
    this.installer = new Installer({
      script: options.installScript,
      runner: options.runner,
      connection: this.connection,
      facts: async () => ({
        installedVersion: await readInstalledVersion(root),
        bundledVersion: options.appVersion,
        ...options.installOverrides,
      }),
    });
    this.connection.onStatus((status) => options.emit('connection', status));
    this.ssh =
      options.ssh === undefined
        ? null
        : new SshSide({
            paths: options.ssh,
            listEnvironments: async () => (await this.connection.client.call('listEnvironments')).environments,
            uid: process.getuid?.() ?? null,
            onError: (error) => process.stderr.write(`hearth: ssh_config sync failed: ${String(error)}\n`),
          });
    this.connection.onEvent((event) => {
      options.emit('hearthd', event);
      // ssh_config follows the environment list: after every (re)connect and every change.
      if (event.type === 'hello' || event.type === 'environment') this.ssh?.scheduleSync();
    });
    this.installer.onUpdate((run) => options.emit('install', run));
    this.subscriptions = new SubscriptionHub(options.topics ?? hearthdTopics(() => this.connection.client), (event) =>
      options.emit('subscription', event),
    );

    const appInfo = async (): Promise<AppInfo> => ({
      version: options.appVersion,
      shell: options.shell,
      autostart: (await options.autostart?.isEnabled()) ?? false,
      trayAvailable: options.trayAvailable(),
      closeAction: ((await options.appSettings?.get()) ?? DEFAULT_APP_SETTINGS).closeAction,
    });
    // Each listed endpoint is passed through as is: the router has validated the request against
    // the schema derived from the same row, and hearthd validates it again.
    const passThrough = Object.fromEntries(
      hearthdCalls.map((name) => [name, (request: unknown) => this.connection.client.call(name, request as never)]),
    ) as unknown as Pick<IpcHandlers, HearthdCallName>;
    this.handlers = {
      ...passThrough,
      getAppInfo: appInfo,
      setAutostart: async ({ enabled }) => {
        if (!options.autostart)
          throw new IpcFailure('unavailable', 'Start at login is only available in the desktop app.');
        await options.autostart.set(enabled);
        return appInfo();
      },
      setCloseAction: async ({ closeAction }) => {
        if (!options.appSettings)
          throw new IpcFailure('unavailable', 'What closing the window does is only a setting of the desktop app.');
        await options.appSettings.update({ closeAction });
        return appInfo();
      },
      getConnection: () => Promise.resolve(this.connection.status),
      reconnect: () => {
        this.connection.reconnectNow();
        return Promise.resolve(this.connection.status);
      },
      getInstallRun: () => Promise.resolve(this.installer.run),
      getCliStatus: () =>
        cliStatus(
          // Development against a scratch root (dev:web --install-root) may link there: nothing outside it changes.
          options.cli ??
            (options.installOverrides?.root === undefined
              ? { offerLink: false }
              : { offerLink: true, root: options.installOverrides.root }),
        ),
      runInstaller: async (request) => {
        try {
          return await this.installer.start(request);
        } catch (error) {
          throw new IpcFailure('failed', error instanceof Error ? error.message : String(error));
        }
      },
      copyText: async ({ text }) => {
        await options.copyText(text);
        return {};
      },
      saveLog: (request) => {
        const choose = options.chooseSavePath;
        if (!choose) throw new IpcFailure('unavailable', 'Saving logs is not available here.');
        return saveLog(request, choose);
      },
      getSshSetup: () => this.sshCall((ssh) => ssh.setup()),
      createSshKey: () =>
        this.sshCall(async (ssh) => {
          const setup = await ssh.createKey();
          if (this.connection.status.state === 'connected') ssh.scheduleSync(0);
          return setup;
        }),
      setSshInclude: ({ enabled }) => this.sshCall((ssh) => ssh.setInclude(enabled)),
      subscribe: async (request, { owner }) => ({ id: await this.subscriptions.subscribe(owner, request) }),
      unsubscribe: ({ id }) => {
        this.subscriptions.unsubscribe(id);
        return Promise.resolve({});
      },
    };
  }

  /** The SSH calls' failures (no ssh-keygen, a home ssh cannot be told about) are the user's to read. */
  private async sshCall<T>(use: (ssh: SshSide) => Promise<T>): Promise<T> {
    if (this.ssh === null) throw new IpcFailure('unavailable', 'SSH setup is not available here.');
    try {
      return await use(this.ssh);
    } catch (error) {
      if (error instanceof IpcFailure) throw error;
      throw new IpcFailure('failed', error instanceof Error ? error.message : String(error));
    }
  }

  start(): void {
    this.connection.start();
  }

  stop(): Promise<void> {
    this.ssh?.cancel();
    this.subscriptions.stopAll();
    return this.connection.stop();
  }
}
