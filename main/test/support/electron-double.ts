import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';

/**
 * A DOUBLE of the `electron` module (the Electron binary cannot be downloaded on the test
 * machines): just enough of Electron's main-process and preload APIs to load the real bundles
 * (dist/main/main.cjs, dist/main/preload.cjs) in Node and record what they ask Electron to do.
 * It does not render anything; the real thing runs in e2e/electron.spec.ts where it exists.
 */
export interface Recorded {
  switches: Array<[string, string | undefined]>;
  windows: FakeWindow[];
  handlers: Map<string, (event: unknown, ...args: unknown[]) => unknown>;
  permissionRequest: ((wc: unknown, permission: string, callback: (granted: boolean) => void) => void) | undefined;
  permissionCheck: ((...args: unknown[]) => boolean) | undefined;
  headers: ((details: { responseHeaders?: Record<string, string[]> }, cb: (r: unknown) => void) => void) | undefined;
  trays: FakeTray[];
  quitCalls: number;
  exposed: Map<string, unknown>;
  rendererInvokes: Array<[string, unknown]>;
  rendererListeners: Map<string, Array<(...args: unknown[]) => void>>;
  clipboard: string[];
  notifications: Array<{ title: string; body: string }>;
}

export class FakeWebContents extends EventEmitter {
  static nextId = 1;
  readonly id = FakeWebContents.nextId++;
  readonly mainFrame = { url: '' };
  openHandler?: (details: { url: string }) => { action: string };
  readonly sent: Array<[string, unknown]> = [];
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }) {
    this.openHandler = handler;
  }
  send(channel: string, payload: unknown) {
    this.sent.push([channel, payload]);
  }
}

export class FakeWindow extends EventEmitter {
  readonly webContents = new FakeWebContents();
  loaded?: string;
  visible = false;
  destroyed = false;
  bounds = { x: 0, y: 0, width: 0, height: 0 };
  constructor(readonly options: { webPreferences?: Record<string, unknown> } & Record<string, unknown>) {
    super();
  }
  loadFile(path: string) {
    this.loaded = path;
    this.webContents.mainFrame.url = `file://${path}`;
    setImmediate(() => this.emit('ready-to-show'));
    return Promise.resolve();
  }
  setBounds(b: typeof this.bounds) {
    this.bounds = b;
  }
  getNormalBounds() {
    return this.bounds;
  }
  isMaximized() {
    return false;
  }
  maximize() {}
  isDestroyed() {
    return this.destroyed;
  }
  isMinimized() {
    return false;
  }
  isVisible() {
    return this.visible;
  }
  restore() {}
  show() {
    this.visible = true;
  }
  focus() {}
  hide() {
    this.visible = false;
  }
}

export class FakeTray extends EventEmitter {
  image: unknown;
  tooltip = '';
  menu: unknown;
  constructor(image: unknown) {
    super();
    this.image = image;
  }
  setImage(image: unknown) {
    this.image = image;
  }
  setToolTip(tooltip: string) {
    this.tooltip = tooltip;
  }
  setContextMenu(menu: unknown) {
    this.menu = menu;
  }
  destroy() {}
}

export interface ElectronDouble {
  electron: Record<string, unknown>;
  recorded: Recorded;
  ready: () => void;
  appEvents: EventEmitter;
}

export function makeElectronDouble(options: { singleInstance?: boolean; userData: string }): ElectronDouble {
  const recorded: Recorded = {
    switches: [],
    windows: [],
    handlers: new Map(),
    trays: [],
    quitCalls: 0,
    exposed: new Map(),
    rendererInvokes: [],
    rendererListeners: new Map(),
    clipboard: [],
    notifications: [],
    permissionRequest: undefined,
    permissionCheck: undefined,
    headers: undefined,
  };
  const appEvents = new EventEmitter();
  let ready: () => void = () => undefined;
  const whenReady = new Promise<void>((resolve) => (ready = resolve));

  const electron = {
    app: Object.assign(appEvents, {
      isPackaged: false,
      commandLine: { appendSwitch: (name: string, value?: string) => recorded.switches.push([name, value]) },
      requestSingleInstanceLock: () => options.singleInstance ?? true,
      quit: () => {
        recorded.quitCalls += 1;
      },
      exit: () => undefined,
      whenReady: () => whenReady,
      getPath: () => options.userData,
    }),
    BrowserWindow: class extends FakeWindow {
      constructor(opts: ConstructorParameters<typeof FakeWindow>[0]) {
        super(opts);
        recorded.windows.push(this);
      }
      static getAllWindows() {
        return recorded.windows.filter((w) => !w.destroyed);
      }
    },
    ipcMain: {
      handle: (channel: string, fn: (event: unknown, ...args: unknown[]) => unknown) =>
        recorded.handlers.set(channel, fn),
    },
    clipboard: { writeText: (text: string) => recorded.clipboard.push(text) },
    nativeTheme: { shouldUseDarkColors: false },
    Notification: class extends EventEmitter {
      static isSupported() {
        return true;
      }
      constructor(readonly n: { title: string; body: string }) {
        super();
      }
      show() {
        recorded.notifications.push(this.n);
      }
    },
    screen: { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }] },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (fn: Recorded['permissionRequest']) => (recorded.permissionRequest = fn),
        setPermissionCheckHandler: (fn: Recorded['permissionCheck']) => (recorded.permissionCheck = fn),
        webRequest: { onHeadersReceived: (fn: Recorded['headers']) => (recorded.headers = fn) },
      },
    },
    Tray: class extends FakeTray {
      constructor(image: unknown) {
        super(image);
        recorded.trays.push(this);
      }
    },
    Menu: { buildFromTemplate: (template: unknown) => ({ template }) },
    nativeImage: { createFromPath: (path: string) => ({ path }) },
    // Preload side
    contextBridge: { exposeInMainWorld: (key: string, api: unknown) => recorded.exposed.set(key, api) },
    ipcRenderer: {
      invoke: (channel: string, request: unknown) => {
        recorded.rendererInvokes.push([channel, request]);
        return Promise.resolve({ ok: true, value: 'double' });
      },
      on: (channel: string, fn: (...args: unknown[]) => void) => {
        recorded.rendererListeners.set(channel, [...(recorded.rendererListeners.get(channel) ?? []), fn]);
      },
      removeListener: (channel: string, fn: (...args: unknown[]) => void) => {
        recorded.rendererListeners.set(
          channel,
          (recorded.rendererListeners.get(channel) ?? []).filter((f) => f !== fn),
        );
      },
    },
  };
  return { electron, recorded, ready: () => ready(), appEvents };
}

/** Loads a CommonJS bundle with `electron` resolved to the double (fresh module state each time). */
export function loadWithElectron(bundle: string, electron: unknown): void {
  const require = createRequire(bundle);
  const electronPath = require.resolve('electron');
  Reflect.set(require.cache, electronPath, {
    id: electronPath,
    filename: electronPath,
    loaded: true,
    exports: electron,
  });
  Reflect.deleteProperty(require.cache, bundle);
  try {
    require(bundle);
  } finally {
    Reflect.deleteProperty(require.cache, electronPath);
  }
}
