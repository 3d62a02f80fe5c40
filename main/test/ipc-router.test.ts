import { describe, expect, it, vi } from 'vitest';
import { ipcEventNames, ipcInvokeNames, type IpcResult } from '#protocol';
import { HearthdError, HearthdUnreachableError } from '#protocol/client';
import {
  bridgeSenderPolicy,
  electronSenderPolicy,
  IpcFailure,
  IpcRouter,
  type IpcHandlers,
  type IpcSender,
} from '../src/core/ipc-router.js';

const RENDERER = 'file:///opt/Hearth/resources/app.asar/dist/renderer/index.html';
const ours: IpcSender = { kind: 'electron', frameUrl: RENDERER, isMainFrame: true, webContentsId: 7 };

function handlers(overrides: Partial<IpcHandlers> = {}): IpcHandlers {
  const never = () => Promise.reject(new Error('not called in this test'));
  return {
    getAppInfo: () => Promise.resolve({ version: '0.1.0', shell: 'electron', autostart: false, trayAvailable: false }),
    setAutostart: never,
    getConnection: never,
    reconnect: never,
    getHost: never,
    getInstallRun: () => Promise.resolve(null),
    runInstaller: never,
    copyText: () => Promise.resolve({}),
    ...overrides,
  };
}

const policy = electronSenderPolicy({ rendererUrl: RENDERER, webContentsId: () => 7 });

describe('IpcRouter', () => {
  it('answers our own window with a success result', async () => {
    const router = new IpcRouter(handlers(), policy);
    await expect(router.handle('getInstallRun', ours, {})).resolves.toEqual({ ok: true, value: null });
    await expect(
      router.handle('copyText', { ...ours, frameUrl: `${RENDERER}#/setup` }, { text: 'x' }),
    ).resolves.toEqual({
      ok: true,
      value: {},
    });
  });

  it.each<[string, IpcSender]>([
    ['an iframe', { ...ours, isMainFrame: false }],
    ['another page', { ...ours, frameUrl: 'https://evil.example/' }],
    ['another local file', { ...ours, frameUrl: 'file:///tmp/evil.html' }],
    ['another window', { ...ours, webContentsId: 8 }],
    ['the bridge, unauthenticated', { kind: 'bridge', authenticated: false }],
  ])('refuses %s before looking at the request', async (_name, sender) => {
    const copyText = vi.fn(() => Promise.resolve({}));
    const router = new IpcRouter(handlers({ copyText }), policy);
    const result = await router.handle('copyText', sender, { text: 'x' });
    expect(result).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(copyText).not.toHaveBeenCalled();
  });

  it('the bridge policy accepts only authenticated bridge requests', () => {
    expect(bridgeSenderPolicy({ kind: 'bridge', authenticated: true })).toBe(true);
    expect(bridgeSenderPolicy(ours)).toBe(false);
  });

  it.each<[string, string, unknown]>([
    ['unknown call', 'deleteEverything', {}],
    ['prototype name', 'constructor', {}],
    ['missing argument', 'copyText', {}],
    ['wrong type', 'copyText', { text: 42 }],
    ['empty string', 'copyText', { text: '' }],
    ['too long', 'copyText', { text: 'x'.repeat(5000) }],
    ['extra property', 'getHost', { fresh: true, path: '/etc/shadow' }],
    ['not an object', 'getHost', 'fresh'],
    ['null', 'getConnection', null],
    ['bad enum', 'runInstaller', { action: 'format-disk' }],
    ['bad flag type', 'runInstaller', { action: 'uninstall', purge: 'yes' }],
    ['bad boolean', 'setAutostart', { enabled: 1 }],
  ])('rejects a bad request (%s) with invalid-request, without calling the handler', async (_name, call, request) => {
    const spy = vi.fn(() => Promise.resolve({}));
    const router = new IpcRouter(
      handlers({ copyText: spy, getHost: spy as never, runInstaller: spy as never, setAutostart: spy as never }),
      policy,
    );
    const result = (await router.handle(call, ours, request)) as IpcResult<unknown> & { ok: false };
    expect(result.ok).toBe(false);
    expect(result.error.code).toBe('invalid-request');
    expect(result.error.message.length).toBeGreaterThan(10);
    expect(spy).not.toHaveBeenCalled();
  });

  it('turns failures into error results whose messages reach the UI', async () => {
    const unreachable = new HearthdUnreachableError(
      '/run/hearth/hearthd.sock',
      Object.assign(new Error('x'), { code: 'ENOENT' }),
    );
    const onError = vi.fn();
    const router = new IpcRouter(
      handlers({
        getHost: () => Promise.reject(unreachable),
        runInstaller: () => Promise.reject(new IpcFailure('failed', 'The installer is already running.')),
        reconnect: () => Promise.reject(new HearthdError(409, 'conflict', 'busy')),
        getConnection: () => Promise.reject(new TypeError('boom')),
      }),
      policy,
      onError,
    );
    await expect(router.handle('getHost', ours, {})).resolves.toMatchObject({
      ok: false,
      error: { code: 'unavailable' },
    });
    await expect(router.handle('runInstaller', ours, { action: 'install' })).resolves.toEqual({
      ok: false,
      error: { code: 'failed', message: 'The installer is already running.' },
    });
    await expect(router.handle('reconnect', ours, {})).resolves.toEqual({
      ok: false,
      error: { code: 'failed', message: 'busy' },
    });
    await expect(router.handle('getConnection', ours, {})).resolves.toMatchObject({
      ok: false,
      error: { code: 'internal' },
    });
    expect(onError).toHaveBeenCalledOnce();
  });

  it('has a channel for every call and event, all under one prefix', async () => {
    const { invokeChannel, eventChannel } = await import('#protocol');
    for (const name of ipcInvokeNames) expect(invokeChannel(name)).toMatch(/^hearth:invoke:[a-zA-Z]+$/);
    for (const name of ipcEventNames) expect(eventChannel(name)).toMatch(/^hearth:event:[a-zA-Z]+$/);
  });
});
