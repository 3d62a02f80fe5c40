import { Readable } from 'node:stream';
import { Client, Pool } from 'undici';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import {
  endpoints,
  type CallableName,
  type Endpoint,
  type ErrorBody,
  type ErrorCode,
  type FollowableName,
  type FollowEventOf,
  type HearthEvent,
  type RequestOf,
  type ResponseOf,
} from '../index.js';

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
 */
export class HearthdClient {
  private readonly http: Pool;

  constructor(readonly socketPath: string = DEFAULT_SOCKET) {
    this.http = new Pool('http://hearthd', { socketPath, connectTimeout: 2_000, connections: 4 });
  }

  async call<N extends CallableName>(
    name: N,
    ...args: object extends RequestOf<N> ? [request?: RequestOf<N>] : [request: RequestOf<N>]
  ): Promise<ResponseOf<N>> {
    const endpoint: Endpoint = endpoints[name];
    const request = (args[0] ?? {}) as { params?: object; query?: object; body?: unknown };
    let response;
    try {
      response = await this.http.request({
        method: endpoint.method,
        path: buildPath(endpoint, request),
        headers: request.body === undefined ? {} : { 'content-type': 'application/json' },
        ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
      });
    } catch (error) {
      throw this.wrapConnectionError(error);
    }
    const text = await response.body.text();
    if (response.statusCode >= 400) {
      let body: Partial<ErrorBody> = {};
      try {
        body = JSON.parse(text) as ErrorBody;
      } catch {
        // Not our error shape (a proxy, a crash mid-response): report the status alone.
      }
      throw new HearthdError(
        response.statusCode,
        body.code ?? 'internal',
        body.message ?? `HTTP ${response.statusCode}`,
        body.details,
        body.hint,
      );
    }
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
    // A stream holds its connection for as long as it lives; it gets one of its own so that
    // calls made meanwhile never queue behind it.
    const connection = new Client('http://hearthd', { socketPath: this.socketPath, connectTimeout: 2_000 });
    let response;
    try {
      response = await connection.request({
        method: 'GET',
        path,
        headers: { accept: 'text/event-stream' },
        ...(signal && { signal }),
      });
    } catch (error) {
      await connection.destroy();
      throw this.wrapConnectionError(error);
    }
    if (response.statusCode !== 200) {
      const text = await response.body.text();
      await connection.destroy();
      let body: Partial<ErrorBody> = {};
      try {
        body = JSON.parse(text) as ErrorBody;
      } catch {
        // Not our error shape.
      }
      throw new HearthdError(
        response.statusCode,
        body.code ?? 'unavailable',
        body.message ?? `stream refused with HTTP ${response.statusCode}`,
        body.details,
        body.hint,
      );
    }
    const stream = (Readable.toWeb(response.body) as ReadableStream<Uint8Array>)
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
      response.body.destroy();
      await connection.destroy();
    }
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private wrapConnectionError(error: unknown): Error {
    const cause = (error as { cause?: NodeJS.ErrnoException }).cause ?? (error as NodeJS.ErrnoException);
    if (cause.code !== undefined && CONNECTION_ERRORS.has(cause.code))
      return new HearthdUnreachableError(this.socketPath, cause);
    return error as Error;
  }
}
