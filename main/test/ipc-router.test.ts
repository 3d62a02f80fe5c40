import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { COPY_TEXT_MAX_CHARS, hearthdCalls, ipcEventNames, ipcInvoke, ipcInvokeNames, type IpcResult } from '#protocol';
import { HearthdError, HearthdUnreachableError } from '#protocol/client';
import { addTinyClass, installTestImage } from '../../helper/test/support/environments.js';
import { HearthdProcess, makePaths } from '../../helper/test/support/hearthd-process.js';
import type { AppCore } from '../src/core/app-core.js';
import { testAppCore } from './support/test-app-core.js';
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
  const all = Object.fromEntries(ipcInvokeNames.map((name) => [name, never])) as unknown as IpcHandlers;
  return {
    ...all,
    getAppInfo: () =>
      Promise.resolve({
        version: '0.1.0',
        shell: 'electron',
        autostart: false,
        trayAvailable: false,
        closeAction: 'tray',
      }),
    getInstallRun: () => Promise.resolve(null),
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
    ['too long', 'copyText', { text: 'x'.repeat(COPY_TEXT_MAX_CHARS + 1) }],
    ['extra property', 'getHost', { query: { fresh: true }, path: '/etc/shadow' }],
    ['extra query field', 'getHost', { query: { fresh: true, path: '/etc/shadow' } }],
    ['follow is for subscriptions', 'getEnvironmentLogs', { params: { id: 'web' }, query: { follow: '1' } }],
    ['missing params', 'getEnvironment', {}],
    ['missing body', 'createEnvironment', {}],
    ['unknown topic', 'subscribe', { topic: 'shell', request: {} }],
    ['bad subscription id', 'unsubscribe', { id: '../x' }],
    ['not an object', 'getHost', 'fresh'],
    ['null', 'getConnection', null],
    ['bad enum', 'runInstaller', { action: 'format-disk' }],
    ['bad flag type', 'runInstaller', { action: 'uninstall', purge: 'yes' }],
    ['bad boolean', 'setAutostart', { enabled: 1 }],
  ])('rejects a bad request (%s) with invalid-request, without calling the handler', async (_name, call, request) => {
    const spy = vi.fn(() => Promise.resolve({}));
    const router = new IpcRouter(
      handlers({
        copyText: spy,
        getHost: spy as never,
        runInstaller: spy as never,
        setAutostart: spy as never,
        getEnvironmentLogs: spy as never,
        getEnvironment: spy as never,
        createEnvironment: spy as never,
        subscribe: spy as never,
        unsubscribe: spy,
      }),
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
        reconnect: () =>
          Promise.reject(
            new HearthdError(409, 'conflict', 'busy', [{ path: 'body/name', message: 'taken' }], 'Pick another'),
          ),
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
      error: { source: 'ipc', code: 'failed', message: 'The installer is already running.' },
    });
    await expect(router.handle('reconnect', ours, {})).resolves.toEqual({
      ok: false,
      error: {
        source: 'hearthd',
        status: 409,
        code: 'conflict',
        message: 'busy',
        hint: 'Pick another',
        details: [{ path: 'body/name', message: 'taken' }],
      },
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

describe('hearthd-backed IPC calls', () => {
  it('are one name each, with request and response derived from the endpoint table', async () => {
    const { endpoints } = await import('#protocol');
    for (const name of hearthdCalls) {
      expect(ipcInvokeNames).toContain(name);
      expect(ipcInvoke[name].response).toBe(endpoints[name].response);
    }
  });
});

/** The router in front of the real app core, in front of a real hearthd. */
describe('IPC against a real hearthd', () => {
  let daemon: HearthdProcess;
  let core: AppCore;
  let router: IpcRouter;

  beforeAll(async () => {
    const paths = await makePaths('hearth-ipc-');
    await installTestImage(paths);
    daemon = await HearthdProcess.start(paths, ['--hypervisor', 'qemu', '--accel', 'tcg']);
    const client = daemon.client();
    await addTinyClass(client);
    await client.close();
    core = testAppCore(paths.socket);
    router = new IpcRouter(core.handlers, policy);
  }, 180_000);
  afterAll(async () => {
    await core.stop();
    await daemon.dispose();
    await rm(daemon.paths.dir, { recursive: true, force: true });
  });

  it('an invalid environment name comes back as invalid-request naming the field', async () => {
    const result = await router.handle('createEnvironment', ours, { body: { name: 'Not A Name!', class: 'tiny' } });
    expect(result).toMatchObject({
      ok: false,
      error: { code: 'invalid-request', details: [expect.objectContaining({ path: 'body/name' })] },
    });
  });

  it("a request hearthd refuses (an unknown class) comes back with hearthd's own code", async () => {
    // Valid for the schema, refused by hearthd's own rules: the error is hearthd's, passed on whole.
    const result = await router.handle('createEnvironment', ours, {
      body: { name: 'ipc-a', class: 'no-such-class', start: false },
    });
    expect(result).toMatchObject({ ok: false, error: { source: 'hearthd', code: 'unprocessable', status: 422 } });
    expect((result as { error: { message: string } }).error.message).toContain('no-such-class');
  });

  it('a duplicate name is a conflict', async () => {
    const first = await router.handle('createEnvironment', ours, {
      body: { name: 'ipc-dup', class: 'tiny', start: false },
    });
    expect(first).toMatchObject({ ok: true, value: { name: 'ipc-dup', state: 'stopped' } });
    const second = await router.handle('createEnvironment', ours, {
      body: { name: 'ipc-dup', class: 'tiny', start: false },
    });
    expect(second).toMatchObject({ ok: false, error: { source: 'hearthd', code: 'conflict', status: 409 } });
    await expect(router.handle('listEnvironments', ours, {})).resolves.toMatchObject({
      ok: true,
      value: { environments: [expect.objectContaining({ name: 'ipc-dup' })] },
    });
    await expect(router.handle('deleteEnvironment', ours, { params: { id: 'ipc-dup' } })).resolves.toMatchObject({
      ok: true,
    });
    await expect(router.handle('getEnvironment', ours, { params: { id: 'ipc-dup' } })).resolves.toMatchObject({
      ok: false,
      error: { source: 'hearthd', code: 'not-found' },
    });
  });

  it('refuses a foreign sender before hearthd sees anything', async () => {
    const result = await router.handle(
      'createEnvironment',
      { ...ours, frameUrl: 'https://evil.example/' },
      {
        body: { name: 'evil', class: 'tiny', start: false },
      },
    );
    expect(result).toMatchObject({ ok: false, error: { source: 'ipc', code: 'forbidden' } });
    await expect(router.handle('listEnvironments', ours, {})).resolves.toMatchObject({
      ok: true,
      value: { environments: [] },
    });
  });

  it('serves classes, images, config, version and host', async () => {
    for (const name of ['listClasses', 'listImages', 'getConfig', 'getVersion', 'getHost'] as const) {
      const result = await router.handle(name, ours, {});
      expect(result, name).toMatchObject({ ok: true });
    }
    await expect(router.handle('getHost', ours, { query: { fresh: true } })).resolves.toMatchObject({
      ok: true,
      value: { verdict: expect.any(String) as unknown },
    });
  });
});
