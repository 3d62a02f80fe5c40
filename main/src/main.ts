import { join } from 'node:path';
import { app, BrowserWindow, session } from 'electron';

/**
 * The Electron main process. The window loads only our bundled renderer, with the renderer
 * sandboxed and isolated; everything privileged stays here or in hearthd.
 */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'none'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

if (!app.requestSingleInstanceLock()) app.quit();

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1100,
    height: 720,
    title: 'Hearth',
    show: false,
    webPreferences: {
      preload: join(__dirname, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  window.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  window.webContents.on('will-navigate', (event) => event.preventDefault());
  window.once('ready-to-show', () => window.show());
  void window.loadFile(join(__dirname, '..', 'renderer', 'index.html'));
  return window;
}

app.commandLine.appendSwitch('gtk-version', '3');
app.on('second-instance', () => {
  const [window] = BrowserWindow.getAllWindows();
  if (window) {
    if (window.isMinimized()) window.restore();
    window.focus();
  }
});
app.whenReady().then(
  () => {
    session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
    session.defaultSession.webRequest.onHeadersReceived((details, callback) =>
      callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } }),
    );
    createWindow();
  },
  (error: unknown) => {
    process.stderr.write(`Hearth could not start: ${String(error)}\n`);
    app.exit(1);
  },
);
app.on('window-all-closed', () => app.quit());
