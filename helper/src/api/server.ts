import swagger from '@fastify/swagger';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import {
  endpoints,
  ErrorBody,
  type CallableName,
  type Endpoint,
  type EndpointName,
  type FollowableName,
} from '#protocol';
import type { Logger } from '../log.js';
import { HEARTHD_VERSION } from '../version.js';
import { ApiError, toApiError } from './api-error.js';
import { callerOf as domainCallerOf, type Followers, type Handlers, type RequestContext } from './handlers.js';
import type { PeerIdentity } from '../caller.js';
import { ConnectionGate, DEFAULT_API_LIMITS, streamCounter, type ApiLimits } from './limits.js';
import type { SseStreams } from './sse.js';
import { describeAjvErrors, validatorCompiler } from './validation.js';

/** Request bodies are small JSON documents; anything larger is a mistake or an attack. */
export const BODY_LIMIT_BYTES = 64 * 1024;

const toFastifyPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');
const pathPattern = (path: string) => new RegExp(`^${path.replace(/\{\w+\}/g, '[^/]+')}$`);

function errorFromFastify(error: FastifyError): ApiError {
  const answer = toApiError(error);
  if (answer) return answer;
  if (error.validation) {
    const details = describeAjvErrors(
      error.validationContext === 'querystring' ? 'query' : (error.validationContext ?? 'request'),
      error.validation,
    );
    return new ApiError(
      'invalid-request',
      `Invalid request: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}`,
      details,
    );
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('payload-too-large', `Request body exceeds ${BODY_LIMIT_BYTES} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError('unsupported-media-type', 'Send request bodies as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError('invalid-json', `Request body is not valid JSON: ${error.message}`);
  }
  if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON/i.test(error.message))) {
    return new ApiError('invalid-json', `Request body is not valid JSON: ${error.message}`);
  }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return new ApiError('invalid-request', error.message);
  }
  return new ApiError('internal', 'hearthd hit an unexpected error; its log has the details (journalctl -u hearthd)');
}

export type HearthServer = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>;

export async function buildServer(deps: {
  log: Logger;
  handlers: Handlers;
  followers: Followers;
  streams: SseStreams;
  /** Who is on the other end of a connection, where the kernel tells; called once, as it is accepted. */
  identify: (socket: Socket) => Promise<PeerIdentity | undefined>;
  limits?: ApiLimits | undefined;
}): Promise<HearthServer> {
  const app = Fastify({
    loggerInstance: deps.log,
    bodyLimit: BODY_LIMIT_BYTES,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
  });
  const limits = deps.limits ?? DEFAULT_API_LIMITS;
  // At accept time, not per request: the connecting process is still there to be looked at, and
  // whatever the connection is used for later is attributed to it alone.
  const callers = new WeakMap<Socket, Promise<PeerIdentity | undefined>>();
  app.server.on('connection', (socket: Socket) => callers.set(socket, deps.identify(socket)));
  const callerOf = (socket: Socket) => callers.get(socket) ?? Promise.resolve(undefined);
  const contextOf = (socket: Socket): RequestContext => ({
    caller: () => callerOf(socket),
    callerUid: async () => (await callerOf(socket))?.uid,
  });
  const uidOf = async (socket: Socket) => (await callerOf(socket))?.uid;
  const gate = new ConnectionGate(limits, uidOf);
  const streamSlots = streamCounter(limits);
  app.server.on('connection', (socket: Socket) => gate.onConnection(socket));
  // A connection over its limit still gets one answer, so the caller learns why.
  app.addHook('onRequest', async (request, reply) => {
    const refused = await gate.refusal(request.raw.socket);
    if (refused === undefined) return;
    request.log.warn({ open: gate.size }, refused);
    const error = new ApiError('too-many-requests', refused);
    reply.header('connection', 'close');
    await reply.code(error.status).send(error.body);
    return reply;
  });
  /** Takes a stream slot for the caller (429 when none is left); released when the stream ends. */
  const streamSlot = async (request: FastifyRequest) => streamSlots.acquire(await uidOf(request.raw.socket));

  app.setValidatorCompiler(validatorCompiler);
  // Bodies are JSON or nothing; anything else is refused with 415 rather than half-parsed.
  app.removeContentTypeParser('text/plain');

  app.addHook('onResponse', async (request, reply) => {
    request.log.debug(
      { method: request.method, url: request.url, status: reply.statusCode, ms: reply.elapsedTime },
      'request',
    );
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const apiError = errorFromFastify(error);
    if (apiError.code === 'internal') request.log.error({ err: error, url: request.url }, 'request failed');
    return reply.code(apiError.status).send(apiError.body);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = Object.values(endpoints as Record<string, Endpoint>)
      .filter((e) => pathPattern(e.path).test(path))
      .map((e) => e.method);
    if (allowed.length) {
      reply.header('allow', allowed.join(', '));
      const error = new ApiError(
        'method-not-allowed',
        `${request.method} is not allowed on ${path}; use ${allowed.join(' or ')}`,
      );
      return reply.code(error.status).send(error.body);
    }
    const error = new ApiError('not-found', `No such endpoint: ${request.method} ${path} (see GET /v1/openapi.json)`);
    return reply.code(error.status).send(error.body);
  });

  await app.register(swagger, {
    // Error bodies are built whole by ApiError and sent as they are, so no route compiles a
    // serializer for them (two per route, kept in the heap for good); the document still names them.
    transform: ({ schema, url }) => {
      const endpoint = (endpoints as Record<string, Endpoint>)[schema.operationId ?? ''];
      if (!endpoint || endpoint.stream) return { schema, url };
      const response = { ...(schema.response as object), '4xx': ErrorBody, '5xx': ErrorBody };
      return { schema: { ...schema, response }, url };
    },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'hearthd API',
        version: HEARTHD_VERSION,
        description: 'The Hearth helper daemon. Served over a Unix socket (default /run/hearth/hearthd.sock).',
      },
    },
  });

  for (const [name, endpoint] of Object.entries(endpoints) as [EndpointName, Endpoint][]) {
    const status = endpoint.status ?? 200;
    app.route({
      method: endpoint.method,
      url: toFastifyPath(endpoint.path),
      schema: {
        operationId: name,
        summary: endpoint.summary,
        ...(endpoint.params && { params: endpoint.params }),
        ...(endpoint.query && { querystring: endpoint.query }),
        ...(endpoint.body && { body: endpoint.body }),
        response: endpoint.stream
          ? {
              [status]: {
                description: 'text/event-stream; each data line is one of these',
                content: { 'text/event-stream': { schema: endpoint.response } },
              },
            }
          : { [status]: endpoint.response },
      },
      handler: endpoint.stream
        ? async (request, reply) => {
            const caller = await domainCallerOf(contextOf(request.raw.socket));
            deps.streams.handle(request, reply, caller, await streamSlot(request));
            return reply;
          }
        : async (request, reply) => {
            const follow = (request.query as { follow?: string } | undefined)?.follow;
            if (endpoint.follow && (follow === '1' || follow === 'true')) {
              const follower = deps.followers[name as FollowableName] as (
                input: unknown,
                open: () => ReturnType<SseStreams['start']>,
                context: RequestContext,
              ) => Promise<void>;
              const release = await streamSlot(request);
              // Until the stream opens the slot is ours to give back (a 404 never opens one).
              const stream = { opened: false };
              try {
                await follower(
                  { params: request.params, query: request.query },
                  () => {
                    stream.opened = true;
                    return deps.streams.start(request, reply, release);
                  },
                  contextOf(request.raw.socket),
                );
              } finally {
                if (!stream.opened) release();
              }
              return reply;
            }
            const handler = deps.handlers[name as CallableName] as (
              input: unknown,
              context: RequestContext,
            ) => Promise<unknown>;
            const context = contextOf(request.raw.socket);
            const result = await handler({ params: request.params, query: request.query, body: request.body }, context);
            return reply.code(status).send(result);
          },
    });
  }
  return app;
}
