import { Agent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Readable } from 'node:stream';
// The modules themselves, not the barrel: a bundle that loads this client lazily (the `hearth`
// command's completion) would otherwise evaluate the whole contract, the app's IPC table included.
import {
  endpoints,
  type CallableName,
  type Endpoint,
  type FollowableName,
  type FollowEventOf,
  type RequestOf,
  type ResponseOf,
} from '../endpoints.js';
import type { ErrorBody, ErrorCode } from '../errors.js';
import type { HearthEvent } from '../events.js';

export const DEFAULT_SOCKET = '/run/hearth/hearthd.sock';

/** hearthd answered with an error body. */
export class HearthdError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorBody['details'],
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'HearthdError';
  }
}

/** hearthd could not be reached at all; `reason` says why in terms a UI can act on. */
export class HearthdUnreachableError extends Error {
  readonly reason: 'no-socket' | 'refused' | 'permission-denied' | 'other';
  constructor(
    readonly socketPath: string,
    override readonly cause: NodeJS.ErrnoException,
  ) {
    const reason =
      cause.code === 'ENOENT'
        ? 'no-socket'
        : cause.code === 'ECONNREFUSED'
          ? 'refused'
          : cause.code === 'EACCES'
            ? 'permission-denied'
            : 'other';
    super(`cannot reach hearthd at ${socketPath}: ${cause.code ?? cause.message}`);
    this.name = 'HearthdUnreachableError';
    this.reason = reason;
  }
}

const CONNECTION_ERRORS = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ECONNRESET', 'EPIPE', 'ENOTSOCK']);

function buildPath(endpoint: Endpoint, request: { params?: object; query?: object }): string {
  const params = (request.params ?? {}) as Record<string, unknown>;
  const path = endpoint.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(params[name])));
  const query = Object.entries(request.query ?? {}).filter(([, v]) => v !== undefined);
  return query.length
    ? `${path}?${new URLSearchParams(query.map(([k, v]): [string, string] => [k, String(v)])).toString()}`
    : path;
}

/**
 * The typed client for hearthd's API, derived from the same endpoint table hearthd serves:
 * `client.call('getHost', { query: { fresh: true } })` is checked against the contract at
 * compile time.
 *
 * It speaks HTTP/1.1 with Node's own `http` module: the `hearth` command starts on every
 * invocation, and an HTTP library loaded from a bundle costs more than a whole Node start
 * (bench/cli.ts), while `node:http` is already in the runtime's snapshot.
 */
export class HearthdClient {
  private readonly agent: Agent;

  constructor(readonly socketPath: string = DEFAULT_SOCKET) {
    this.agent = new Agent({ keepAlive: true, maxSockets: 4 });
  }

  async call<N extends CallableName>(
    name: N,
    ...args: object extends RequestOf<N> ? [request?: RequestOf<N>] : [request: RequestOf<N>]
  ): Promise<ResponseOf<N>> {
    const endpoint: Endpoint = endpoints[name];
    const request = (args[0] ?? {}) as { params?: object; query?: object; body?: unknown };
    const body = request.body === undefined ? undefined : JSON.stringify(request.body);
    let response: IncomingMessage;
    let text: string;
    try {
      response = await this.send(endpoint.method, buildPath(endpoint, request), this.agent, body);
      text = await readText(response);
    } catch (error) {
      throw this.wrapConnectionError(error);
    }
    const status = response.statusCode ?? 0;
    if (status >= 400) throw errorFrom(status, text, 'internal', `HTTP ${status}`);
    return (text === '' ? undefined : JSON.parse(text)) as ResponseOf<N>;
  }

  /**
   * Follows `/v1/events` until `signal` aborts or hearthd closes the stream. Reconnecting is the
   * caller's choice (the app's connection manager does it with backoff).
   */
  events(signal?: AbortSignal): AsyncGenerator<HearthEvent> {
    return this.sse<HearthEvent>(endpoints.events.path, signal);
  }

  /**
   * Follows an endpoint that streams with `?follow=1` (such as an environment's logs): yields
   * the lines it already has, then each new one, until `signal` aborts or hearthd ends it.
   */
  follow<N extends FollowableName>(
    name: N,
    request: RequestOf<N>,
    signal?: AbortSignal,
  ): AsyncGenerator<FollowEventOf<N>> {
    const endpoint: Endpoint = endpoints[name];
    const withFollow = request as { params?: object; query?: object };
    const path = buildPath(endpoint, { ...withFollow, query: { ...withFollow.query, follow: '1' } });
    return this.sse<FollowEventOf<N>>(path, signal);
  }

  private async *sse<T>(path: string, signal?: AbortSignal): AsyncGenerator<T> {
    // A stream holds its connection for as long as it lives; it gets one of its own (no agent)
    // so that calls made meanwhile never queue behind it.
    let response: IncomingMessage;
    try {
      response = await this.send('GET', path, false, undefined, { accept: 'text/event-stream' }, signal);
    } catch (error) {
      if (signal?.aborted) return;
      throw this.wrapConnectionError(error);
    }
    if (response.statusCode !== 200) {
      const status = response.statusCode ?? 0;
      throw errorFrom(status, await readText(response), 'unavailable', `stream refused with HTTP ${status}`);
    }
    // Loaded with the first stream: the web-streams machinery it needs costs every short-lived
    // client (the `hearth` command) its start otherwise.
    const { EventSourceParserStream } = await import('eventsource-parser/stream');
    const stream = (Readable.toWeb(response) as ReadableStream<Uint8Array>)
      .pipeThrough(new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>)
      .pipeThrough(new EventSourceParserStream());
    try {
      for await (const message of stream as unknown as AsyncIterable<{ data: string }>) {
        yield JSON.parse(message.data) as T;
      }
    } catch (error) {
      if (signal?.aborted) return;
      throw this.wrapConnectionError(error);
    } finally {
      response.destroy();
    }
  }

  private send(
    method: string,
    path: string,
    agent: Agent | false,
    body?: string,
    headers: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<IncomingMessage> {
    // A Unix socket has no TLS server name. Saying so ('') spares Node's agent deriving one: it
    // tests the Host header with net.isIP, whose IPv6 pattern V8 compiles on first use, ~3 ms of
    // CPU in every `hearth` command's start (bench/cli.ts).
    const options: RequestOptions & { servername: string } = {
      socketPath: this.socketPath,
      servername: '',
      method,
      path,
      agent,
      headers: {
        host: 'hearthd',
        ...headers,
        ...(body !== undefined && {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
        }),
      },
      ...(signal && { signal }),
    };
    return new Promise((resolve, reject) => {
      const request = httpRequest(options, resolve);
      request.once('error', reject);
      request.end(body);
    });
  }

  /** Closes the idle connections; a stream that is still being followed ends with its signal. */
  close(): Promise<void> {
    this.agent.destroy();
    return Promise.resolve();
  }

  private wrapConnectionError(error: unknown): Error {
    const cause = (error as { cause?: NodeJS.ErrnoException }).cause ?? (error as NodeJS.ErrnoException);
    if (cause.code !== undefined && CONNECTION_ERRORS.has(cause.code))
      return new HearthdUnreachableError(this.socketPath, cause);
    return error as Error;
  }
}

function readText(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.once('error', reject);
  });
}

/** hearthd's error body, or the status alone when the body is not ours (a crash mid-response). */
function errorFrom(status: number, text: string, fallback: ErrorCode, fallbackMessage: string): HearthdError {
  let body: Partial<ErrorBody> = {};
  try {
    body = JSON.parse(text) as ErrorBody;
  } catch {
    // Not our error shape: report the status alone.
  }
  return new HearthdError(status, body.code ?? fallback, body.message ?? fallbackMessage, body.details, body.hint);
}
