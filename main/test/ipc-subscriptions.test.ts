import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IpcResult, SubscriptionEvent } from '#protocol';
import { addTinyClass, installTestImage, killVmms, waitForState } from '../../helper/test/support/environments.js';
import { HearthdProcess, makePaths } from '../../helper/test/support/hearthd-process.js';
import type { AppCore } from '../src/core/app-core.js';
import { testAppCore } from './support/test-app-core.js';
import { electronSenderPolicy, IpcRouter, ownerOf, type IpcSender } from '../src/core/ipc-router.js';
import { eventually } from '../../helper/test/support/eventually.js';

/**
 * Log follow over IPC, end to end: the router and app core in front of a real hearthd running a
 * real (TCG) test-guest VM. Boots a VM: run under the shared lock
 * (`flock /tmp/hearth-vm.lock npx vitest run main/test/ipc-subscriptions.test.ts`).
 */
const RENDERER = 'file:///opt/Hearth/resources/app.asar/dist/renderer/index.html';
const ours: IpcSender = { kind: 'electron', frameUrl: RENDERER, isMainFrame: true, webContentsId: 7 };

describe('subscriptions over IPC against a real VM', () => {
  let daemon: HearthdProcess;
  let core: AppCore;
  let router: IpcRouter;
  let readyMarker: string;
  const events: SubscriptionEvent[] = [];

  const happened = (predicate: () => boolean, what: string) =>
    eventually(predicate, { what, timeoutMs: 120_000, context: () => `events: ${JSON.stringify(events.slice(-5))}` });
  const subscribe = async (request: unknown, sender = ours) => {
    const result = (await router.handle('subscribe', sender, request)) as IpcResult<{ id: string }>;
    if (!result.ok) throw new Error(`subscribe failed: ${JSON.stringify(result.error)}`);
    return result.value.id;
  };
  const of = (id: string) => events.filter((e) => e.id === id);
  const lines = (id: string) => of(id).flatMap((e) => (e.kind === 'item' && e.topic === 'logs' ? e.item.lines : []));

  beforeAll(async () => {
    const paths = await makePaths('hearth-ipc-subs-');
    ({ readyMarker } = await installTestImage(paths));
    daemon = await HearthdProcess.start(paths, ['--hypervisor', 'qemu', '--accel', 'tcg']);
    const client = daemon.client();
    await addTinyClass(client);
    await client.close();
    core = testAppCore(paths.socket, (name, payload) => {
      if (name === 'subscription') events.push(payload as SubscriptionEvent);
    });
    router = new IpcRouter(core.handlers, electronSenderPolicy({ rendererUrl: RENDERER, webContentsId: () => 7 }));
  }, 180_000);

  afterAll(async () => {
    await core.stop();
    await killVmms(daemon.paths);
    await daemon.dispose();
    await rm(daemon.paths.dir, { recursive: true, force: true });
  });

  it("delivers the lines of a booting VM's console, and stops on request", async () => {
    const created = await router.handle('createEnvironment', ours, { body: { name: 'follow', class: 'tiny' } });
    expect(created).toMatchObject({ ok: true });
    const id = await subscribe({ topic: 'logs', request: { params: { id: 'follow' }, query: { tail: 0 } } });
    expect(id).toMatch(/^sub-\d+$/);

    await happened(() => lines(id).some((line) => line.includes(readyMarker)), 'the ready marker on the console');
    expect(lines(id).length).toBeGreaterThan(1);

    await expect(router.handle('unsubscribe', ours, { id })).resolves.toEqual({ ok: true, value: {} });
    await happened(() => of(id).some((e) => e.kind === 'end'), 'the end event');
    expect(of(id).at(-1)).toEqual({ id, topic: 'logs', kind: 'end' });
    expect(core.subscriptions.size).toBe(0);
  });

  it('ends every subscription of a window that goes away', async () => {
    const client = daemon.client();
    await waitForState(client, 'follow', 'running', 120_000);
    await client.close();
    const a = await subscribe({ topic: 'logs', request: { params: { id: 'follow' } } });
    const b = await subscribe({ topic: 'logs', request: { params: { id: 'follow' }, query: { source: 'events' } } });
    await happened(() => lines(a).length > 0 && lines(b).length > 0, 'the tail of both logs');
    expect(core.subscriptions.size).toBe(2);
    core.subscriptions.stopOwner(ownerOf(ours));
    await happened(() => of(a).some((e) => e.kind === 'end') && of(b).some((e) => e.kind === 'end'), 'both ends');
    expect(core.subscriptions.size).toBe(0);
  });

  it("follows hearthd's own log: the tail as one batch, then new entries", async () => {
    const id = await subscribe({ topic: 'hearthdLog', request: { query: { tail: 5 } } });
    const entries = () => of(id).flatMap((e) => (e.kind === 'item' && e.topic === 'hearthdLog' ? e.item.entries : []));
    await happened(() => entries().length > 0, 'the tail of hearthd log');
    expect(entries().length).toBeLessThanOrEqual(5);
    const before = entries().at(-1)!.seq;
    await router.handle('createEnvironment', ours, { body: { name: 'logged', class: 'tiny', start: false } });
    await happened(() => entries().some((e) => e.seq > before && e.environment?.name === 'logged'), 'a new entry');
    await router.handle('unsubscribe', ours, { id });
    await happened(() => of(id).some((e) => e.kind === 'end'), 'the end event');
  });

  it("refuses a follow of an environment that does not exist with hearthd's not-found", async () => {
    const result = await router.handle('subscribe', ours, { topic: 'logs', request: { params: { id: 'nope' } } });
    expect(result).toMatchObject({ ok: false, error: { source: 'hearthd', code: 'not-found' } });
    expect(core.subscriptions.size).toBe(0);
  });

  it('refuses a foreign sender and a malformed request before anything starts', async () => {
    const foreign = await router.handle(
      'subscribe',
      { ...ours, isMainFrame: false },
      { topic: 'logs', request: { params: { id: 'follow' } } },
    );
    expect(foreign).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const bad = await router.handle('subscribe', ours, {
      topic: 'logs',
      request: { params: { id: 'follow' }, query: { follow: '1' } },
    });
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid-request' } });
    expect(core.subscriptions.size).toBe(0);
  });
});
