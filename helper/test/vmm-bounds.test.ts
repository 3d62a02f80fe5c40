import { createServer as createHttpServer } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChApi } from '../src/vmm/cloud-hypervisor/ch-api.js';
import { QmpClient } from '../src/vmm/qemu/qmp-client.js';

/**
 * A VMM is not trusted with hearthd's memory: a control-socket peer that talks without end is
 * cut off, whatever it says. (These servers play a compromised VMM.)
 */
describe('control sockets of a hostile VMM', () => {
  let dir: string;
  let server: Server | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-vmm-bounds-'));
  });
  afterEach(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('QMP: a message without end closes the connection instead of growing a buffer', async () => {
    const path = join(dir, 'qmp.sock');
    server = createServer((socket) => {
      socket.on('error', () => undefined);
      const junk = 'x'.repeat(64 * 1024);
      let sent = 0;
      const pump = () => {
        while (sent < 4 * 1024 * 1024 && socket.write(junk)) sent += junk.length;
        if (sent < 4 * 1024 * 1024) socket.once('drain', pump);
      };
      pump();
    });
    await new Promise<void>((resolve) => server!.listen(path, resolve));
    await expect(QmpClient.connect(path, 10_000)).rejects.toThrow(/closed/);
  });

  it('Cloud Hypervisor API: an answer past 1 MiB is refused', async () => {
    const path = join(dir, 'api.sock');
    const http = createHttpServer((_, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('"' + 'x'.repeat(2 * 1024 * 1024) + '"');
    });
    server = http;
    await new Promise<void>((resolve) => http.listen(path, resolve));
    const api = new ChApi(path);
    try {
      await expect(api.info()).rejects.toThrow(/more than 1048576 bytes/);
    } finally {
      await api.close();
    }
  });
});
