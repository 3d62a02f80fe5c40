import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AGENT_LINE_MAX_BYTES,
  type AgentMessage,
  type AgentReadiness,
  type AgentStatus,
} from '../src/guest/agent-messages.js';
import { GuestChannel } from '../src/guest/channel.js';
import { LineReader } from '../src/guest/line-reader.js';
import { createLogger } from '../src/log.js';
import { eventually } from './support/eventually.js';

const log = createLogger('silent', { write: () => undefined });

const status = (stage: string, cloudInit: AgentStatus['cloudInit'] = 'running'): AgentStatus => ({
  v: 1,
  type: 'status',
  stage,
  cloudInit,
  errors: [],
  hostKeys: [],
});
const readiness: AgentReadiness = {
  v: 1,
  type: 'readiness',
  agent: 2,
  user: true,
  authorizedKeys: ['SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s'],
  sshd: true,
  hostKeys: [],
};
const line = (message: unknown) => `${JSON.stringify(message)}\n`;

describe('LineReader', () => {
  it('joins lines split across chunks, drops an over-long line up to its newline, and never holds more than the cap', () => {
    const reader = new LineReader(8);
    expect(reader.push(Buffer.from('ab')).map(String)).toEqual([]);
    expect(reader.push(Buffer.from('c\nde\n')).map(String)).toEqual(['abc', 'de']);
    // 9 bytes without a newline: gone, and so is the rest of that line however long it runs.
    expect(reader.push(Buffer.from('123456789'))).toEqual([]);
    expect(reader.push(Buffer.alloc(100_000, 0x41))).toEqual([]);
    expect(reader.push(Buffer.from('tail\nok\n')).map(String)).toEqual(['ok']);
    expect(reader.overlong).toBe(1);
    // Exactly the cap is a line.
    expect(reader.push(Buffer.from('12345678\n')).map(String)).toEqual(['12345678']);
  });
});

/**
 * The host side of the channel against a hostile guest: the test plays the VMM's end of the
 * socket (QEMU's chardev listener, or Cloud Hypervisor connecting) and writes what a guest could.
 */
describe('GuestChannel against a hostile writer', () => {
  let dir: string;
  let server: Server | undefined;
  let channel: GuestChannel | undefined;
  const peers: Socket[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-channel-'));
  });
  afterEach(async () => {
    channel?.close();
    for (const peer of peers.splice(0)) peer.destroy();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  /** A listener like QEMU's chardev; resolves each connection hearthd makes to it. */
  function vmmListener(path: string): { next: () => Promise<Socket> } {
    const waiting: Array<(s: Socket) => void> = [];
    const ready: Socket[] = [];
    server = createServer((socket) => {
      peers.push(socket);
      const take = waiting.shift();
      if (take) take(socket);
      else ready.push(socket);
    });
    server.listen(path);
    return {
      next: () => {
        const socket = ready.shift();
        return socket ? Promise.resolve(socket) : new Promise((resolve) => waiting.push(resolve));
      },
    };
  }

  it('delivers only schema-valid lines; huge lines, binary, bad JSON and wrong schemas are dropped and counted', async () => {
    const path = join(dir, 'agent.sock');
    const vmm = vmmListener(path);
    const got: AgentMessage[] = [];
    channel = new GuestChannel({ endpoint: { connect: path }, log, onMessage: (m) => got.push(m) }).start();
    const guest = await vmm.next();
    guest.write(`${'x'.repeat(AGENT_LINE_MAX_BYTES * 4)}\n`); // huge
    guest.write(Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x0a])); // binary
    guest.write('{"v":1,"type":"status",\n'); // bad JSON
    guest.write(line({ ...status('init'), extra: 'field' })); // additional property
    guest.write(line({ ...status('init'), stage: '../../etc/passwd' })); // stage pattern
    guest.write(line({ ...status('init'), errors: Array(9).fill('e') })); // too many errors
    guest.write(line({ ...status('init'), v: 2 }));
    // Readiness facts: a verdict the schema does not know, a fingerprint that is none, too many keys.
    guest.write(line({ ...readiness, ready: true }));
    guest.write(line({ ...readiness, authorizedKeys: ['SHA256:$(reboot)'] }));
    guest.write(line({ ...readiness, authorizedKeys: Array(17).fill(readiness.authorizedKeys[0]) }));
    guest.write(line({ ...readiness, agent: 1 })); // no readiness before version 2
    guest.write(line(status('modules-final', 'done')));
    guest.write(line(readiness));
    await eventually(() => got.length === 2);
    expect(got).toEqual([status('modules-final', 'done'), readiness]);
    expect(channel.drops).toMatchObject({ overlong: 1, notJson: 2, invalid: 8 });
  });

  it('takes a line trickled a byte at a time (slowloris), and a line that never ends costs a bounded buffer', async () => {
    const path = join(dir, 'agent.sock');
    const vmm = vmmListener(path);
    const got: AgentMessage[] = [];
    channel = new GuestChannel({ endpoint: { connect: path }, log, onMessage: (m) => got.push(m) }).start();
    const guest = await vmm.next();
    for (const byte of Buffer.from(line(status('init')))) {
      guest.write(Buffer.from([byte]));
      await new Promise((r) => setTimeout(r, 1));
    }
    await eventually(() => got.length === 1);
    // 256 KiB with no newline, in pieces: dropped as one over-long line, the next one still arrives.
    for (let i = 0; i < 4; i++) guest.write('y'.repeat(64 * 1024));
    await new Promise((r) => setTimeout(r, 1_100)); // past the byte budget's second
    guest.write(`\n${line(status('modules-config'))}`);
    await eventually(() => got.length === 2, { timeoutMs: 8_000 });
    expect((got[1] as AgentStatus).stage).toBe('modules-config');
  });

  it('rate-limits a flood: at most the line rate a second gets through', async () => {
    const path = join(dir, 'agent.sock');
    const vmm = vmmListener(path);
    const got: AgentMessage[] = [];
    channel = new GuestChannel({
      endpoint: { connect: path },
      log,
      onMessage: (m) => got.push(m),
      linesPerSecond: 5,
    }).start();
    const guest = await vmm.next();
    const started = Date.now();
    guest.write(Array.from({ length: 500 }, (_, i) => line(status(`s${i}`))).join(''));
    await new Promise((r) => setTimeout(r, 300));
    const seconds = Math.ceil((Date.now() - started) / 1000);
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThanOrEqual(5 * seconds);
    expect(channel.drops.rateLimited).toBeGreaterThan(0);
  });

  it('reconnects after the VMM end drops it, and stops for good on close()', async () => {
    const path = join(dir, 'agent.sock');
    const got: AgentMessage[] = [];
    // Nothing listens yet: it keeps trying.
    channel = new GuestChannel({
      endpoint: { connect: path },
      log,
      onMessage: (m) => got.push(m),
      retryMs: { first: 20, max: 100 },
    }).start();
    await new Promise((r) => setTimeout(r, 150));
    const vmm = vmmListener(path);
    const first = await vmm.next();
    first.write(line(status('init')));
    await eventually(() => got.length === 1);
    first.destroy();
    const second = await vmm.next();
    second.write(line(status('modules-final', 'done')));
    await eventually(() => got.length === 2);
    channel.close();
    // After close nothing connects again.
    let more = false;
    void vmm.next().then(() => (more = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(more).toBe(false);
  });

  it('listens (Cloud Hypervisor connects to it) and takes the newest connection as the guest', async () => {
    const path = join(dir, 'vsock.sock_7010');
    const got: AgentMessage[] = [];
    channel = new GuestChannel({ endpoint: { listen: path }, log, onMessage: (m) => got.push(m) }).start();
    await eventually(() => existsSync(path));
    // An earlier connection (the agent before it restarted) is replaced by the newer one.
    const stale = connect(path);
    peers.push(stale);
    await new Promise((r) => stale.once('connect', r));
    const guest = connect(path);
    peers.push(guest);
    await new Promise((r) => guest.once('connect', r));
    guest.write(line(status('init-local')));
    await eventually(() => got.length === 1);
    expect((got[0] as AgentStatus).stage).toBe('init-local');
    stale.write(line(status('init')));
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toHaveLength(1);
  });
});
