import { connect, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { createLogger, type Logger } from '../../src/log.js';
import { serveSshAgent, type AgentPolicy } from '../../src/repositories/ssh-agent/index.js';

/**
 * The agent on a real Unix socket, as the guest's ssh and ssh-keygen reach it (through the relay),
 * with its log captured; and a raw client that speaks the agent protocol frame by frame.
 */
export class AgentHarness {
  readonly logLines: string[] = [];
  readonly log: Logger = createLogger('debug', { write: (line: string) => void this.logLines.push(line) });
  private server: Server | null = null;

  constructor(readonly socket: string) {}

  /** Serves `policy` on the socket; the log starts empty with each start. */
  async start(policy: AgentPolicy): Promise<void> {
    this.logLines.length = 0;
    this.server = createServer({ allowHalfOpen: true }, (stream) => serveSshAgent(stream, policy, this.log));
    this.server.listen(this.socket);
    await once(this.server, 'listening');
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  warnings(): { reason: string; [key: string]: unknown }[] {
    return this.logLines
      .map((line) => JSON.parse(line) as { level: number; reason: string })
      .filter((entry) => entry.level === 40);
  }
}

/** A client that sends agent messages and reads the answers, frame by frame. */
export class RawAgentClient {
  private buffered = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static async connect(path: string): Promise<RawAgentClient> {
    const socket = connect(path);
    await once(socket, 'connect');
    return new RawAgentClient(socket);
  }

  send(message: Buffer): void {
    const frame = Buffer.alloc(4);
    frame.writeUInt32BE(message.length);
    this.socket.write(Buffer.concat([frame, message]));
  }

  /** The next answer's bytes (type byte first), or null when the agent closed the connection. */
  async read(): Promise<Buffer | null> {
    for (;;) {
      if (this.buffered.length >= 4) {
        const length = this.buffered.readUInt32BE(0);
        if (this.buffered.length >= 4 + length) {
          const message = this.buffered.subarray(4, 4 + length);
          this.buffered = this.buffered.subarray(4 + length);
          return message;
        }
      }
      if (this.closed) return null;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async request(message: Buffer): Promise<Buffer | null> {
    this.send(message);
    return this.read();
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
