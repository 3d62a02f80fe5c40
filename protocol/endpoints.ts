import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { HearthEvent } from './events.js';
import { HostQuery, HostReport } from './schemas/host.js';
import { ConfigView, SettingsPatch, VersionInfo } from './schemas/system.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * One row of the API. hearthd registers routes (and validates) from these rows, the OpenAPI
 * document is generated from them, and the typed client derives its call signatures from them:
 * there is no second description of the API anywhere.
 */
export interface Endpoint {
  readonly method: HttpMethod;
  /** OpenAPI-style path; parameters as `{name}`. */
  readonly path: string;
  readonly summary: string;
  readonly params?: TSchema;
  readonly query?: TSchema;
  readonly body?: TSchema;
  /** The success body; for streams, the schema of each event. */
  readonly response: TSchema;
  readonly status?: 200 | 201 | 202 | 204;
  /** Server-sent events instead of one JSON body. */
  readonly stream?: true;
}

export const endpoints = {
  getVersion: {
    method: 'GET',
    path: '/v1/version',
    summary: 'hearthd and API versions, and the VMMs found on this machine',
    response: VersionInfo,
  },
  getHost: {
    method: 'GET',
    path: '/v1/host',
    summary: 'Readiness report: can this machine run environments, and what to fix',
    query: HostQuery,
    response: HostReport,
  },
  getConfig: {
    method: 'GET',
    path: '/v1/config',
    summary: "hearthd's settings",
    response: ConfigView,
  },
  updateConfig: {
    method: 'PATCH',
    path: '/v1/config',
    summary: 'Change some settings; saved atomically and applied at once',
    body: SettingsPatch,
    response: ConfigView,
  },
  getOpenApi: {
    method: 'GET',
    path: '/v1/openapi.json',
    summary: 'This API as an OpenAPI 3.1 document, generated from the same schemas hearthd validates with',
    response: Type.Object({ openapi: Type.String() }, { additionalProperties: true }),
  },
  events: {
    method: 'GET',
    path: '/v1/events',
    summary: 'Server-sent event stream: hello, heartbeat, readiness and config changes',
    response: HearthEvent,
    stream: true,
  },
} as const satisfies Record<string, Endpoint>;

export type Endpoints = typeof endpoints;
export type EndpointName = keyof Endpoints;

type Field<E, K extends string> = K extends keyof E ? E[K] : undefined;
type RequestPart = 'params' | 'query' | 'body';
type PartOf<E, K extends RequestPart> = Field<E, K> extends TSchema ? Static<Field<E, K>> : never;
type PresentParts<E> = { [K in RequestPart]: Field<E, K> extends TSchema ? K : never }[RequestPart];
/** Parts whose every field is optional may be left out (`{}` is a valid value for them). */
type OptionalParts<E> = { [K in PresentParts<E>]: object extends PartOf<E, K> ? K : never }[PresentParts<E>];

/** What a caller passes for an endpoint: only the parts the endpoint has. */
export type RequestOf<N extends EndpointName> = {
  [K in Exclude<PresentParts<Endpoints[N]>, OptionalParts<Endpoints[N]>>]: PartOf<Endpoints[N], K>;
} & { [K in OptionalParts<Endpoints[N]>]?: PartOf<Endpoints[N], K> };
/** What a handler receives: every part the endpoint has, validated (an absent query is `{}`). */
export type HandlerRequestOf<N extends EndpointName> = { [K in PresentParts<Endpoints[N]>]: PartOf<Endpoints[N], K> };
export type ResponseOf<N extends EndpointName> = Static<Endpoints[N]['response']>;

/** Endpoints that answer with one JSON body (not a stream). */
export type CallableName = {
  [N in EndpointName]: Endpoints[N] extends { stream: true } ? never : N;
}[EndpointName];
