import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, clipboard, dialog, ipcMain, nativeTheme, Notification, screen, session } from 'electron';
import { exec as sudo } from 'sudo-prompt';
import { eventChannel, invokeChannel, ipcInvokeNames } from '#protocol';
import { DEFAULT_SOCKET } from '#protocol/client';
import { version } from '../../package.json';
import { AppCore } from './core/app-core.js';
import { AppSettingsStore, closeHides } from './core/app-settings.js';
import { Autostart, autostartPath } from './core/autostart.js';
import { EnvironmentFeed } from './core/environment-feed.js';
import { DirectRunner, SudoPromptRunner } from './core/installer.js';
import { electronSenderPolicy, IpcRouter, ownerOf, type IpcSender } from './core/ipc-router.js';
import { hashOf, routeOf, type NavigationTarget } from './core/navigation.js';
import { ReadinessFeed, type Readiness } from './core/readiness-feed.js';
import { detectTrayHost } from './core/tray-host.js';
import { environmentNotices, trayModel, type TrayEnvironment } from './core/tray-model.js';
import { fitBounds, WindowStateStore } from './core/window-state.js';
import { TrayView } from './electron/tray.js';
import { sshPaths } from '../../user/ssh/paths.js';

/**
 * The Electron main process: a thin layer over main/src/core (plain TypeScript, tested without
 * Electron). The window loads only our bundled renderer, sandboxed and isolated; everything
 * privileged stays here or in hearthd.
 */
// The page is loaded from file://, where response headers do not exist: the effective policy is
// the <meta> in renderer/index.html (checked by main/test/security.test.ts). This header is the
// same policy, for anything that ever arrives over a protocol that has headers.
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'none'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

const packaged = app.isPackaged;
const resources = packaged
  ? join(process.resourcesPath, 'hearth-helper')
  : join(__dirname, '..', '..', 'assets', 'linux');
const iconDir = packaged
  ? join(process.resourcesPath, 'icons', 'tray')
  : join(__dirname, '..', '..', 'assets', 'icons', 'tray');
const rendererIndex = join(__dirname, '..', 'renderer', 'index.html');
const rendererUrl = pathToFileURL(rendererIndex).href;
const startHidden = process.argv.includes('--hidden');
const socketPath = process.env.HEARTH_SOCKET ?? DEFAULT_SOCKET;

app.commandLine.appendSwitch('gtk-version', '3');

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  let window: BrowserWindow | null = null;
  let tray: TrayView | null = null;
  let trayAvailable = false;
  let quitting = false;
  let environments: TrayEnvironment[] = [];
  let readiness: Readiness | undefined;
  const bounds = new WindowStateStore(join(app.getPath('userData'), 'window-state.json'));
  const appSettings = new AppSettingsStore(join(app.getPath('userData'), 'app-settings.json'));
  const autostart = new Autostart(autostartPath(), process.env.APPIMAGE ?? process.execPath);
  // An entry an older build wrote may launch /opt/Hearth/hearth, which is no longer the app.
  void autostart.refresh().catch((error: unknown) => {
    process.stderr.write(`hearth: could not update the autostart entry: ${String(error)}\n`);
  });

  const core = new AppCore({
    shell: 'electron',
    appVersion: version,
    socketPath,
    installScript: join(resources, 'hearth-install.sh'),
    runner: process.getuid?.() === 0 ? new DirectRunner() : new SudoPromptRunner(sudo),
    ...(!packaged && {
      // Development (`npm start`): install the freshly built hearthd with this machine's Node.
      installOverrides: {
        hearthd: join(__dirname, '..', 'helper', 'hearthd.mjs'),
        node: process.env.HEARTH_NODE ?? '/usr/bin/node',
        cli: join(__dirname, '..', 'cli', 'hearth.cjs'),
      },
    }),
    autostart,
    // The deb and rpm provide /usr/bin/hearth; an AppImage user is offered /usr/local/bin/hearth.
    cli: { offerLink: process.env.APPIMAGE !== undefined },
    trayAvailable: () => trayAvailable,
    appSettings,
    ssh: sshPaths(app.getPath('home')),
    copyText: (text) => {
      void clipboard.writeText(text);
      return Promise.resolve();
    },
    chooseSavePath: async (suggestedName) => {
      const options = { title: 'Save log', defaultPath: join(app.getPath('downloads'), suggestedName) };
      const picked =
        window && !window.isDestroyed()
          ? await dialog.showSaveDialog(window, options)
          : await dialog.showSaveDialog(options);
      return picked.canceled || !picked.filePath ? undefined : picked.filePath;
    },
    emit: (name, payload) => {
      if (window && !window.isDestroyed()) window.webContents.send(eventChannel(name), payload);
    },
  });

  const router = new IpcRouter(
    core.handlers,
    electronSenderPolicy({ rendererUrl, webContentsId: () => window?.webContents.id }),
    (name, error) => process.stderr.write(`hearth: ${name} failed: ${String(error)}\n`),
  );
  for (const name of ipcInvokeNames) {
    ipcMain.handle(invokeChannel(name), (event, request: unknown) => {
      const frame = event.senderFrame;
      const sender: IpcSender = {
        kind: 'electron',
        frameUrl: frame?.url ?? '',
        isMainFrame: frame !== null && frame === event.sender.mainFrame,
        webContentsId: event.sender.id,
      };
      return router.handle(name, sender, request);
    });
  }

  const refreshTray = () => {
    tray?.apply(trayModel({ connection: core.connection.status.state, environments, ...readiness }));
  };
  const notify = (title: string, body: string, opens?: NavigationTarget) => {
    if (!Notification.isSupported()) return;
    const notification = new Notification({ title, body });
    if (opens) notification.on('click', () => showWindow(opens));
    notification.show();
  };
  const setEnvironments = (next: TrayEnvironment[]) => {
    for (const notice of environmentNotices(environments, next))
      notify(notice.title, notice.body, { page: 'environment', id: notice.id });
    environments = next;
    refreshTray();
  };
  core.connection.onStatus(refreshTray);
  const feed = new EnvironmentFeed(core.connection, setEnvironments);
  const readinessFeed = new ReadinessFeed(core.connection, (next) => {
    readiness = next;
    refreshTray();
  });

  /** Shows the window (creating it if it went) and, when asked, sends it to a route. */
  const showWindow = (target?: NavigationTarget) => {
    if (!window || window.isDestroyed()) {
      // A new window starts on the route: nothing is listening for `navigate` before it has loaded.
      window = createWindow(target && routeOf(target));
      return;
    }
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
    if (target) window.webContents.send(eventChannel('navigate'), { route: routeOf(target) });
  };

  function createWindow(route?: string): BrowserWindow {
    const win = new BrowserWindow({
      width: 1100,
      height: 760,
      minWidth: 640,
      minHeight: 480,
      title: 'Hearth',
      show: false,
      // The page's own background, so opening the window never flashes the other theme.
      backgroundColor: nativeTheme.shouldUseDarkColors ? '#16191d' : '#f6f7f9',
      webPreferences: {
        preload: join(__dirname, 'preload.cjs'),
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        nodeIntegrationInSubFrames: false,
        webSecurity: true,
        webviewTag: false,
        spellcheck: false,
        devTools: !packaged,
      },
    });
    win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
    win.webContents.on('will-navigate', (event) => event.preventDefault());
    win.webContents.on('will-redirect', (event) => event.preventDefault());
    win.webContents.on('will-attach-webview', (event) => event.preventDefault());
    // A window that goes (closed, crashed, reloaded) takes its subscriptions with it.
    const owner = ownerOf({ kind: 'electron', frameUrl: '', isMainFrame: true, webContentsId: win.webContents.id });
    const dropSubscriptions = () => core.subscriptions.stopOwner(owner);
    win.webContents.on('destroyed', dropSubscriptions);
    win.webContents.on('render-process-gone', dropSubscriptions);
    win.webContents.on('did-start-loading', dropSubscriptions);
    void bounds.load().then((saved) => {
      const fitted = fitBounds(
        saved,
        screen.getAllDisplays().map((d) => d.workArea),
        { width: 1100, height: 760 },
      );
      win.setBounds(fitted);
      if (fitted.maximized === true) win.maximize();
    });
    const remember = () => {
      if (win.isDestroyed()) return;
      void bounds.save({ ...win.getNormalBounds(), maximized: win.isMaximized() });
    };
    win.on('resized', remember);
    win.on('moved', remember);
    win.on('close', (event) => {
      remember();
      // Close to tray only when a tray is really shown (otherwise closing quits: stock GNOME) and
      // the user has not chosen "quit" in Settings.
      if (closeHides(appSettings.peek(), trayAvailable, quitting)) {
        event.preventDefault();
        win.hide();
      }
    });
    win.once('ready-to-show', () => {
      if (!startHidden || !trayAvailable) win.show();
    });
    void win.loadFile(rendererIndex, route === undefined ? {} : { hash: hashOf(route) });
    return win;
  }

  app.on('second-instance', () => showWindow());
  app.on('before-quit', () => {
    quitting = true;
  });
  app.on('window-all-closed', () => {
    if (!closeHides(appSettings.peek(), trayAvailable, false)) app.quit();
  });
  app.on('web-contents-created', (_event, contents) => {
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
    contents.on('will-navigate', (event) => event.preventDefault());
  });

  app.whenReady().then(
    async () => {
      session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
      session.defaultSession.setPermissionCheckHandler(() => false);
      session.defaultSession.webRequest.onHeadersReceived((details, callback) =>
        callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } }),
      );
      trayAvailable = process.env.HEARTH_FORCE_TRAY === '1' || (await detectTrayHost());
      // Read before the window exists: its close handler must decide synchronously.
      await appSettings.get();
      if (trayAvailable) {
        tray = new TrayView(iconDir, (action) => {
          switch (action.kind) {
            case 'open-dashboard':
              showWindow({ page: 'dashboard' });
              break;
            case 'open-environment':
              showWindow({ page: 'environment', id: action.id });
              break;
            case 'copy-ssh':
              void clipboard.writeText(action.command);
              break;
            case 'stop-environment':
              feed.stopEnvironment(action.id).catch((error: unknown) => {
                notify('Could not stop the environment', error instanceof Error ? error.message : String(error));
              });
              break;
            case 'quit':
              app.quit();
              break;
          }
        });
        refreshTray();
      }
      setEnvironments([]);
      feed.start();
      readinessFeed.start();
      core.start();
      window = createWindow();
      if (process.env.HEARTH_E2E === '1') {
        Object.assign(globalThis, {
          hearthTest: { trayExists: () => tray !== null, trayAvailable: () => trayAvailable },
        });
      }
    },
    (error: unknown) => {
      process.stderr.write(`Hearth could not start: ${String(error)}\n`);
      app.exit(1);
    },
  );
  app.on('will-quit', () => {
    feed.stop();
    readinessFeed.stop();
    tray?.destroy();
    void core.stop();
  });
}
