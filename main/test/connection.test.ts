import { execFile } from 'node:child_process';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { API_REVISION, type ConnectionState, type ConnectionStatus, type HearthEvent } from '#protocol';
import { HearthdProcess, makePaths, type HearthdPaths } from '../../helper/test/support/hearthd-process.js';
import { ConnectionManager } from '../src/core/connection.js';

const run = promisify(execFile);

/** The connection state machine against a real hearthd process that is stopped and started. */
describe('ConnectionManager against a real hearthd', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function setup(options: { installed?: boolean; paths?: HearthdPaths } = {}) {
    const paths = options.paths ?? (await makePaths('hearth-conn-'));
    const states: ConnectionState[] = [];
    const events: HearthEvent[] = [];
    const manager = new ConnectionManager({
      socketPath: paths.socket,
      bundledVersion: '0.1.0',
      isInstalled: () => Promise.resolve(options.installed ?? true),
      initialBackoffMs: 50,
      maxBackoffMs: 300,
    });
    manager.onStatus((s) => states.push(s.state));
    manager.onEvent((e) => events.push(e));
    cleanup.push(() => manager.stop());
    cleanup.push(() => rm(paths.dir, { recursive: true, force: true }));
    return { paths, manager, states, events };
  }

  const until = (manager: ConnectionManager, state: ConnectionState, ms = 8_000): Promise<ConnectionStatus> =>
    manager.waitFor((s) => s.state === state, ms);

  it('is not-installed without a socket or an installation, and stopped when installed', async () => {
    const missing = await setup({ installed: false });
    missing.manager.start();
    await until(missing.manager, 'not-installed');
    const installed = await setup({ installed: true });
    installed.manager.start();
    const status = await until(installed.manager, 'stopped');
    expect(status.message).toContain('systemctl start hearthd');
  });

  it('connects, follows events, notices a stop within seconds, and recovers on restart', async () => {
    const { paths, manager, states, events } = await setup();
    let daemon = await HearthdProcess.start(paths);
    cleanup.push(() => daemon.dispose());
    manager.start();
    const connected = await until(manager, 'connected');
    expect(connected.version).toMatchObject({ hearthd: '0.1.0', api: 'v1' });
    expect(connected.upgradeAvailable).toBe(false);
    expect(events[0]?.type).toBe('hello');

    const stoppedAt = Date.now();
    await daemon.stop();
    await until(manager, 'stopped', 3_000);
    expect(Date.now() - stoppedAt).toBeLessThan(3_000);

    daemon = await HearthdProcess.start(paths);
    await until(manager, 'connected', 5_000);
    // Re-subscribed: a second hello arrived on the new stream.
    expect(events.filter((e) => e.type === 'hello')).toHaveLength(2);
    expect(states).toEqual(['connected', 'stopped', 'connected']);
  });

  it('notices a killed hearthd (no clean shutdown) and a leftover socket: refused → stopped', async () => {
    const { paths, manager } = await setup();
    const daemon = await HearthdProcess.start(paths);
    cleanup.push(() => daemon.dispose());
    manager.start();
    await until(manager, 'connected');
    daemon.signal('SIGKILL');
    await daemon.waitForExit();
    await until(manager, 'stopped', 3_000);
  });

  it('reports permission-denied when the socket is not ours to open', async () => {
    const paths = await makePaths('hearth-conn-denied-');
    cleanup.push(() => rm(paths.dir, { recursive: true, force: true }));
    const daemon = await HearthdProcess.start(paths);
    cleanup.push(() => daemon.dispose());
    await chmod(paths.socket, 0o660);
    await chmod(paths.dir, 0o711);
    // As root nothing is denied: ask as nobody, like a user who is not (yet) in the hearth group.
    const probe = join(import.meta.dirname, 'support', 'connection-probe.ts');
    const tsx = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'tsx');
    const command =
      process.getuid?.() === 0
        ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', tsx, probe, paths.socket]
        : [tsx, probe, paths.socket];
    const { stdout } = await run(command[0]!, command.slice(1), { env: { ...process.env, HOME: '/tmp' } });
    expect(stdout.trim()).toBe('permission-denied');
  });

  it('reports version-mismatch for a hearthd with an older API revision, and offers the upgrade', async () => {
    const paths = await makePaths('hearth-conn-fake-');
    await mkdir(paths.dir, { recursive: true });
    // Not hearthd: a stand-in for an OLD release, answering /v1/version only (named as such).
    const server: Server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ hearthd: '0.0.9', api: 'v1', apiRevision: 0, vmms: [] }));
    });
    await new Promise<void>((resolve) => server.listen(paths.socket, resolve));
    cleanup.push(() => new Promise((resolve) => server.close(resolve)));
    const { manager } = await setup({ paths });
    manager.start();
    const status = await until(manager, 'version-mismatch');
    expect(status.message).toContain('revision 0');
    expect(status.upgradeAvailable).toBe(true);
  });

  it('declares a silent stream dead after the heartbeat timeout', async () => {
    const paths = await makePaths('hearth-conn-silent-');
    await mkdir(paths.dir, { recursive: true });
    await writeFile(join(paths.dir, 'note'), 'stand-in that accepts the event stream and then says nothing');
    let streams = 0;
    const server: Server = createServer((req, res) => {
      if (req.url === '/v1/events') {
        streams += 1;
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(
          `event: hello\ndata: ${JSON.stringify({ seq: 0, time: new Date().toISOString(), type: 'hello', hearthd: '0.1.0', api: 'v1' })}\n\n`,
        );
        return; // …and then silence, like a hung hearthd
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        req.url === '/v1/config'
          ? JSON.stringify({
              settings: { hypervisor: 'auto', accel: 'auto', heartbeatSeconds: 1, readinessIntervalSeconds: 60 },
              overriddenByFlags: [],
            })
          : JSON.stringify({ hearthd: '0.1.0', api: 'v1', apiRevision: API_REVISION, vmms: [] }),
      );
    });
    await new Promise<void>((resolve) => server.listen(paths.socket, resolve));
    cleanup.push(
      () =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(resolve);
        }),
    );
    const { manager, states } = await setup({ paths });
    manager.start();
    await until(manager, 'connected');
    await until(manager, 'unreachable', 5_000);
    expect(manager.status.message).toContain('no heartbeat');
    await until(manager, 'connected', 5_000);
    expect(streams).toBeGreaterThanOrEqual(2);
    expect(states.slice(0, 3)).toEqual(['connected', 'unreachable', 'connected']);
  });
});
