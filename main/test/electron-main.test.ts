import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invokeChannel, ipcInvokeNames, type HearthApi, type IpcResult } from '#protocol';
import { canMakeDevices, materialize } from '../../helper/test/fixtures/fixture-host.js';
import { debianCloudWithoutKvm } from '../../helper/test/fixtures/hosts.js';
import { HearthdProcess } from '../../helper/test/support/hearthd-process.js';
import { loadWithElectron, makeElectronDouble, type FakeWindow } from './support/electron-double.js';
import { NEEDS_ROOT, skipWhen } from '../../helper/test/support/skip.js';
import { eventually } from '../../helper/test/support/eventually.js';

/**
 * The real main and preload bundles, loaded in Node against an Electron DOUBLE (no Electron
 * binary here): what the thin Electron layer asks of Electron, and that IPC through it reaches the
 * real app logic and a real hearthd. Electron itself is covered by e2e/electron.spec.ts.
 */
const repo = join(import.meta.dirname, '..', '..');
const MAIN = join(repo, 'dist/main/main.cjs');
const PRELOAD = join(repo, 'dist/main/preload.cjs');
const built = existsSync(MAIN) && existsSync(PRELOAD);
const RENDERER_ELSEWHERE = 'https://evil.example/';
if (!built) console.warn('SKIPPED electron-main tests: run npm run build first');

describe(
  'dist/main/main.cjs against an Electron double',
  skipWhen(built ? undefined : 'dist/main is not built (npm run build)'),
  () => {
    let daemon: HearthdProcess;
    let userData: string;
    let hostRoot: string | undefined;
    let double: ReturnType<typeof makeElectronDouble>;
    let window: FakeWindow;
    const env = { ...process.env };

    beforeAll(async () => {
      // The machine hearthd judges is one the test lays out (the tray's verdict must follow from
      // it, not from the machine running the test): everything installed but KVM, so degraded.
      hostRoot = canMakeDevices ? await materialize(debianCloudWithoutKvm) : undefined;
      daemon = await HearthdProcess.start(undefined, hostRoot === undefined ? [] : ['--host-root', hostRoot]);
      userData = await mkdtemp(join(tmpdir(), 'hearth-main-'));
      process.env.HEARTH_SOCKET = daemon.paths.socket;
      process.env.HEARTH_FORCE_TRAY = '1';
      process.env.XDG_CONFIG_HOME = join(userData, 'config');
      double = makeElectronDouble({ userData });
      loadWithElectron(MAIN, double.electron);
      double.ready();
      await eventually(() => double.recorded.windows.length === 1);
      window = double.recorded.windows[0]!;
    });
    afterAll(async () => {
      double.appEvents.emit('will-quit');
      process.env = env;
      await daemon.dispose();
      await rm(userData, { recursive: true, force: true });
      if (hostRoot !== undefined) await rm(hostRoot, { recursive: true, force: true });
    });

    it('creates one isolated, sandboxed window that loads the bundled renderer with the preload', () => {
      expect(window.options.webPreferences).toMatchObject({
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        nodeIntegrationInSubFrames: false,
        webSecurity: true,
        webviewTag: false,
        devTools: true, // unpackaged; `!app.isPackaged`
        preload: PRELOAD,
      });
      expect(window.loaded).toBe(join(repo, 'dist/renderer/index.html'));
      expect(double.recorded.switches).toContainEqual(['gtk-version', '3']);
    });

    it('denies window.open, navigation and every permission', () => {
      expect(window.webContents.openHandler?.({ url: 'https://example.com' })).toEqual({ action: 'deny' });
      let prevented = false;
      window.webContents.emit('will-navigate', { preventDefault: () => (prevented = true) }, 'https://example.com');
      expect(prevented).toBe(true);
      let granted: boolean | undefined;
      double.recorded.permissionRequest?.({}, 'media', (g) => (granted = g));
      expect(granted).toBe(false);
      expect(double.recorded.permissionCheck?.({}, 'clipboard-read')).toBe(false);
    });

    it('handles every IPC call, checking the sender before anything else', async () => {
      expect([...double.recorded.handlers.keys()].sort()).toEqual(ipcInvokeNames.map(invokeChannel).sort());
      const handler = double.recorded.handlers.get(invokeChannel('getConnection'))!;
      const ours = { sender: window.webContents, senderFrame: window.webContents.mainFrame };
      await eventually(() =>
        window.webContents.sent.some(
          ([c, p]) => c === 'hearth:event:connection' && (p as { state: string }).state === 'connected',
        ),
      );
      await expect(handler(ours, {})).resolves.toMatchObject({ ok: true, value: { state: 'connected' } });

      const iframe = { sender: window.webContents, senderFrame: { url: window.webContents.mainFrame.url } };
      await expect(handler(iframe, {})).resolves.toMatchObject({ ok: false, error: { code: 'forbidden' } });
      const elsewhere = { sender: window.webContents, senderFrame: { url: 'https://evil.example/' } };
      window.webContents.mainFrame.url = 'https://evil.example/';
      await expect(handler({ ...elsewhere, senderFrame: window.webContents.mainFrame }, {})).resolves.toMatchObject({
        ok: false,
        error: { code: 'forbidden' },
      });
      window.webContents.mainFrame.url = pathToFileURL(window.loaded!).href;
      const bad = (await handler(ours, { query: { fresh: 'yes' } })) as IpcResult<unknown>;
      expect(bad).toMatchObject({ ok: false, error: { code: 'invalid-request' } });

      const host = double.recorded.handlers.get(invokeChannel('getHost'))!;
      await expect(host(ours, {})).resolves.toMatchObject({
        ok: true,
        value: { checks: expect.any(Array) as unknown },
      });
    });

    it("passes hearthd's errors through whole: an invalid name names its field, a duplicate is a conflict", async () => {
      const ours = { sender: window.webContents, senderFrame: window.webContents.mainFrame };
      const create = double.recorded.handlers.get(invokeChannel('createEnvironment'))!;
      await expect(create(ours, { body: { name: 'Bad Name', class: 'small' } })).resolves.toMatchObject({
        ok: false,
        error: { code: 'invalid-request', details: [expect.objectContaining({ path: 'body/name' })] },
      });
      const subscribe = double.recorded.handlers.get(invokeChannel('subscribe'))!;
      await expect(subscribe(ours, { topic: 'logs', request: { params: { id: 'absent' } } })).resolves.toMatchObject({
        ok: false,
        error: { source: 'hearthd', code: 'not-found', status: 404 },
      });
      const foreign = { sender: window.webContents, senderFrame: { url: RENDERER_ELSEWHERE } };
      // A window that goes takes its subscriptions with it (see main.ts).
      for (const event of ['destroyed', 'render-process-gone', 'did-start-loading'])
        expect(window.webContents.listenerCount(event), event).toBeGreaterThan(0);
      await expect(subscribe(foreign, { topic: 'logs', request: { params: { id: 'absent' } } })).resolves.toMatchObject(
        {
          ok: false,
          error: { source: 'ipc', code: 'forbidden' },
        },
      );
    });

    it('shows a tray (when one exists) whose menu says the helper is connected', skipWhen(NEEDS_ROOT), async () => {
      // A machine without KVM runs environments emulated: degraded, which the tray calls ready with limitations.
      await eventually(() => (double.recorded.trays[0]?.tooltip ?? '').includes('Ready'));
      const tray = double.recorded.trays[0]!;
      expect(tray.tooltip).toBe('Hearth — Ready with limitations, nothing running');
      expect((tray.image as { path: string }).path).toBe(join(repo, 'assets/icons/tray/idle-22.png'));
      expect(existsSync((tray.image as { path: string }).path)).toBe(true);
      const labels = (tray.menu as { template: Array<{ label?: string }> }).template.map((i) => i.label);
      expect(labels).toContain('Quit Hearth');
    });

    it('closes to the tray when there is one', () => {
      window.show();
      let prevented = false;
      window.emit('close', { preventDefault: () => (prevented = true) });
      expect(prevented).toBe(true);
      expect(window.visible).toBe(false);
      double.appEvents.emit('second-instance');
      expect(window.visible).toBe(true);
    });
  },
);

describe('single instance', skipWhen(built ? undefined : 'dist/main is not built (npm run build)'), () => {
  it('a second launch quits at once and opens no window', async () => {
    const userData = await mkdtemp(join(tmpdir(), 'hearth-main-'));
    const double = makeElectronDouble({ userData, singleInstance: false });
    loadWithElectron(MAIN, double.electron);
    double.ready();
    await eventually(() => double.recorded.quitCalls > 0, { what: 'the second launch to quit' });
    expect(double.recorded.quitCalls).toBe(1);
    expect(double.recorded.windows).toHaveLength(0);
    expect(double.recorded.handlers.size).toBe(0);
    await rm(userData, { recursive: true, force: true });
  });
});

describe(
  'dist/main/preload.cjs against an Electron double',
  skipWhen(built ? undefined : 'dist/main is not built (npm run build)'),
  () => {
    it('exposes only window.hearth = { invoke, on } over the hearth: channels', async () => {
      const double = makeElectronDouble({ userData: tmpdir() });
      loadWithElectron(PRELOAD, double.electron);
      expect([...double.recorded.exposed.keys()]).toEqual(['hearth']);
      const api = double.recorded.exposed.get('hearth') as HearthApi;
      expect(Object.keys(api).sort()).toEqual(['invoke', 'on']);
      await api.invoke('getHost', { query: { fresh: true } });
      expect(double.recorded.rendererInvokes).toEqual([['hearth:invoke:getHost', { query: { fresh: true } }]]);
      await expect(api.invoke('openShell' as never, {} as never)).resolves.toMatchObject({
        ok: false,
        error: { code: 'invalid-request' },
      });
      expect(double.recorded.rendererInvokes).toHaveLength(1);

      const seen: unknown[] = [];
      const off = api.on('connection', (s) => seen.push(s));
      const [listener] = double.recorded.rendererListeners.get('hearth:event:connection')!;
      listener!({ sender: 'not passed on' }, { state: 'stopped' });
      expect(seen).toEqual([{ state: 'stopped' }]);
      off();
      expect(double.recorded.rendererListeners.get('hearth:event:connection')).toEqual([]);
      expect(() => api.on('nope' as never, () => undefined)).toThrow('unknown event');
    });
  },
);
