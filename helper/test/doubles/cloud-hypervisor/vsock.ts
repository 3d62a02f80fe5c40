import { readFileSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Logger } from './log.js';

/**
 * CH's hybrid vsock (virtio-devices/src/vsock/unix/muxer.rs), as far as a host sees it:
 *
 * - at boot the device binds `socket` (a Unix listener, as the VMM user) and removes it when the
 *   device shuts down;
 * - a guest connection to the host (CID 2) port P makes CH connect to `<socket>_P`; if nothing
 *   listens there the guest gets a reset (here: the guest retries, as the Hearth agent does);
 * - a host connection to `socket` says `CONNECT <port>\n` and, for a guest listening on that
 *   port, gets `OK <host port>\n`. The simulated guest listens on no port, so such connections
 *   are closed, as CH closes them when the guest refuses.
 *
 * The test hook is the guest side: with `vsock-port=<P>` in HEARTH_CH_DOUBLE_GUEST the guest
 * "connects" to host port P once it is up, sends `vsock-send=<file>` (or a hello line), and then
 * echoes every line it receives, so both directions of a channel can be checked end to end.
 */
export interface GuestVsockBehaviour {
  port: number | undefined;
  sendFile: string | undefined;
}

export const VSOCK_HELLO = 'HEARTH-DOUBLE-VSOCK-HELLO';
const RETRY_MS = 200;
const MAX_SEND_BYTES = 1024 * 1024;

export class HybridVsock {
  private readonly listener: Server;
  private guestLink: Socket | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    readonly cid: number,
    readonly socket: string,
    private readonly log: Logger,
  ) {
    this.listener = createServer((host) => {
      host.once('data', (chunk) => {
        this.log.info(
          `vsock: host asked ${JSON.stringify(chunk.toString('utf8').trim())}; the guest listens on no port`,
        );
        host.destroy();
      });
    });
  }

  /**
   * Binds `socket`. vm.boot has already checked what makes CH's bind fail (devices.ts: the path
   * is free, its directory writable), so a failure here is only logged.
   */
  static open(cid: number, socket: string, log: Logger): HybridVsock {
    const vsock = new HybridVsock(cid, socket, log);
    vsock.listener.once('error', (error) => log.warn(`vsock: cannot bind ${socket}: ${error.message}`));
    vsock.listener.listen(socket);
    return vsock;
  }

  /** The guest's agent connects to host port `port` (retrying while nothing listens). */
  guestConnect(behaviour: GuestVsockBehaviour): void {
    if (behaviour.port === undefined || this.closed) return;
    const port = behaviour.port;
    const path = `${this.socket}_${port}`;
    const link = connect(path);
    link.once('connect', () => {
      this.guestLink = link;
      this.log.info(`vsock: guest cid ${this.cid} connected to host port ${port} (${path})`);
      const payload =
        behaviour.sendFile === undefined
          ? Buffer.from(`${VSOCK_HELLO} cid=${this.cid} port=${port}\n`)
          : readFileSync(behaviour.sendFile).subarray(0, MAX_SEND_BYTES);
      link.write(payload);
      // The guest echoes what the host sends, line by line.
      let pending = '';
      link.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) link.write(`echo ${line}\n`);
      });
    });
    link.once('error', (error: NodeJS.ErrnoException) => {
      // CH answers the guest with RST; the agent tries again.
      this.log.debug(`vsock: connecting to ${path} failed (${error.code ?? error.message}); the guest retries`);
      link.destroy();
      if (!this.closed) this.retry = setTimeout(() => this.guestConnect(behaviour), RETRY_MS);
    });
    link.once('close', () => {
      if (this.guestLink === link) this.guestLink = undefined;
    });
  }

  /** The device shuts down with the VM: connections go, and CH removes its socket. */
  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.guestLink?.destroy();
    this.listener.close();
    try {
      unlinkSync(this.socket);
    } catch {
      // Node's close may already have removed it.
    }
  }
}
