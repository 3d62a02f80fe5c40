import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentMessage } from '../src/guest/agent-messages.js';
import { GuestSession } from '../src/guest/session.js';
import { createLogger } from '../src/log.js';
import { EnvironmentRuntime } from '../src/environments/runtime.js';

const stageOf = (m: AgentMessage) => (m.type === 'status' ? m.stage : null);
const status = (stage: string): AgentMessage => ({
  v: 1,
  type: 'status',
  stage,
  cloudInit: 'running',
  errors: [],
  hostKeys: [],
});
const line = (message: unknown) => `${JSON.stringify(message)}\n`;

async function eventually(test: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * The guest session over a real channel: the test plays the VMM's end of the socket as QEMU's
 * chardev listener does, and hearthd's session connects to it.
 */
describe('GuestSession', () => {
  let dir: string;
  let server: Server;
  let guest: Promise<Socket>;
  let connections = 0;
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('info', { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-session-'));
    connections = 0;
    lines.length = 0;
    guest = new Promise((resolve) => {
      server = createServer((socket) => {
        connections += 1;
        // Writes after hearthd's side closed fail with EPIPE: what a guest would see.
        socket.on('error', () => undefined);
        // hearthd greets every connection (protocol v2's hello); this v1 guest reads nothing, as
        // the v1 agent did not — but the socket must flow, or its close never arrives.
        socket.resume();
        resolve(socket);
      });
    });
    await new Promise<void>((resolve) => server.listen(join(dir, 'agent.sock'), resolve));
  });
  afterEach(async () => {
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it('gives every subscriber each message in order, keeps the newest for a late one, and ends with close', async () => {
    const session = new GuestSession({ endpoint: { connect: join(dir, 'agent.sock') }, log }).open();
    const first: string[] = [];
    const second: string[] = [];
    session.subscribe((m) => first.push(stageOf(m)!));
    const unsubscribe = session.subscribe((m) => second.push(stageOf(m)!));
    const socket = await guest;
    socket.write(line(status('init-local')) + line(status('init')));
    await eventually(() => first.length === 2);
    expect(first).toEqual(['init-local', 'init']);
    expect(second).toEqual(['init-local', 'init']);
    unsubscribe();
    // A late subscriber finds the newest report (each is a whole snapshot).
    expect(stageOf(session.latest!)).toBe('init');
    socket.write(line(status('modules-final')));
    await eventually(() => first.length === 3);
    expect(second).toEqual(['init-local', 'init']);
    // Opening again changes nothing: one channel per session.
    session.open();
    session.close();
    socket.write(line(status('after-close')));
    await new Promise((r) => setTimeout(r, 100));
    expect(first).toEqual(['init-local', 'init', 'modules-final']);
    expect(connections).toBe(1);
  });

  it('logs what the channel dropped once, when it closes', async () => {
    const session = new GuestSession({ endpoint: { connect: join(dir, 'agent.sock') }, log }).open();
    const got: AgentMessage[] = [];
    session.subscribe((m) => got.push(m));
    const socket = await guest;
    socket.write('not json\n' + line(status('init')));
    await eventually(() => got.length === 1);
    session.close();
    expect(lines.filter((l) => l.msg === 'guest channel dropped lines')).toEqual([
      expect.objectContaining({ drops: expect.objectContaining({ notJson: 1 }), delivered: 1 }),
    ]);
  });

  it('is not available and never connects without a channel', async () => {
    const session = new GuestSession({ endpoint: undefined, log }).open();
    expect(session.available).toBe(false);
    await new Promise((r) => setTimeout(r, 100));
    expect(connections).toBe(0);
    session.close();
  });

  it("belongs to the environment's runtime: a new one replaces it, and dispose closes it", async () => {
    const rt = new EnvironmentRuntime();
    const endpoint = { connect: join(dir, 'agent.sock') };
    const session = rt.openSession({ endpoint, log });
    expect(rt.session).toBe(session);
    const socket = await guest;
    const heard: string[] = [];
    session.subscribe((m) => heard.push(stageOf(m)!));
    rt.dispose();
    expect(rt.session).toBeUndefined();
    socket.write(line(status('init')));
    await new Promise((r) => setTimeout(r, 100));
    expect(heard).toEqual([]);
  });
});
