import { connect, type Socket } from 'node:net';

/** A QMP event, e.g. `{ event: 'SHUTDOWN', data: { guest: true, reason: 'guest-shutdown' } }`. */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

/** The commands hearthd uses, with what they return. */
export interface QmpCommands {
  qmp_capabilities: { args: undefined; returns: Record<string, never> };
  'query-status': { args: undefined; returns: { running: boolean; status: string } };
  system_powerdown: { args: undefined; returns: Record<string, never> };
  quit: { args: undefined; returns: Record<string, never> };
}

export class QmpError extends Error {
  constructor(
    readonly errorClass: string,
    message: string,
  ) {
    super(`QMP ${errorClass}: ${message}`);
  }
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** QMP replies and events are small; anything longer is not QEMU speaking. */
const MAX_MESSAGE_CHARS = 1024 * 1024;

/**
 * A small client for the QEMU Machine Protocol on a Unix socket: newline-delimited JSON,
 * a greeting, capability negotiation, commands matched to replies by id, and asynchronous events.
 */
export class QmpClient {
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private readonly eventListeners = new Set<(event: QmpEvent) => void>();
  private readonly closeListeners = new Set<() => void>();
  private closed = false;
  private greeted: Promise<void>;

  private constructor(private readonly socket: Socket) {
    let greet!: () => void;
    let fail!: (error: Error) => void;
    this.greeted = new Promise((resolve, reject) => {
      greet = resolve;
      fail = reject;
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      // The VMM is not trusted: a reply or event without end closes the connection, not our memory.
      if (this.buffer.length > MAX_MESSAGE_CHARS && !this.buffer.includes('\n')) {
        socket.destroy(new Error(`QMP message longer than ${MAX_MESSAGE_CHARS} characters`));
        this.buffer = '';
        return;
      }
      let newline;
      while ((newline = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, newline).trim();
        this.buffer = this.buffer.slice(newline + 1);
        if (line) this.handle(line, greet);
      }
    });
    const end = () => {
      if (this.closed) return;
      this.closed = true;
      const error = new Error('QMP connection closed');
      fail(error);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
      for (const listener of this.closeListeners) listener();
    };
    socket.on('close', end);
    socket.on('error', end);
  }

  /** Connects, waits for the greeting and negotiates capabilities. */
  static async connect(path: string, timeoutMs = 5_000): Promise<QmpClient> {
    const socket = connect(path);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`QMP socket ${path} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    const client = new QmpClient(socket);
    try {
      await withTimeout(client.greeted, timeoutMs, 'QMP greeting');
      await client.execute('qmp_capabilities');
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  execute<C extends keyof QmpCommands>(command: C, timeoutMs = 5_000): Promise<QmpCommands[C]['returns']> {
    if (this.closed) return Promise.reject(new Error('QMP connection closed'));
    const id = String(this.nextId++);
    const reply = new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
    });
    this.socket.write(`${JSON.stringify({ execute: command, id })}\n`);
    return withTimeout(reply, timeoutMs, `QMP ${command}`).finally(() => this.pending.delete(id)) as Promise<
      QmpCommands[C]['returns']
    >;
  }

  onEvent(listener: (event: QmpEvent) => void): void {
    this.eventListeners.add(listener);
  }

  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.add(listener);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }

  private handle(line: string, greet: () => void): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return; // Not QMP; ignore rather than tear down the connection.
    }
    if ('QMP' in message) {
      greet();
      return;
    }
    if ('event' in message) {
      for (const listener of this.eventListeners) listener(message as unknown as QmpEvent);
      return;
    }
    const id = typeof message.id === 'string' ? message.id : undefined;
    const pending = id === undefined ? undefined : this.pending.get(id);
    if (!pending) return;
    if ('error' in message) {
      const error = message.error as { class?: string; desc?: string };
      pending.reject(new QmpError(error.class ?? 'GenericError', error.desc ?? 'unknown error'));
    } else {
      pending.resolve(message.return);
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`${what} timed out after ${ms} ms`));
      }, ms);
    }),
  ]).finally(() => {
    clearTimeout(timer);
  });
}
