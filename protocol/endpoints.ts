import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { HearthEvent } from './events.js';
import {
  ClassBody,
  ClassList,
  ClassParams,
  CreateEnvironment,
  Environment,
  EnvironmentClass,
  EnvironmentList,
  EnvironmentParams,
  EnvironmentStats,
  LogLinesEvent,
  LogLines,
  LogsQuery,
  StopQuery,
} from './schemas/environments.js';
import { Catalog, CatalogEntry, CatalogParams, ImageList, ImageParams } from './schemas/images.js';
import { HearthdLog, HearthdLogEntriesEvent, HearthdLogQuery } from './schemas/hearthd-log.js';
import { HostQuery, HostReport } from './schemas/host.js';
import {
  AccessCheck,
  AddCredential,
  CheckAccess,
  ConfirmGitHostKey,
  Credential,
  CredentialList,
  CredentialParams,
  GitHostKeyList,
  Profile,
} from './schemas/repositories.js';
import { CallerInfo, ConfigView, SettingsPatch, VersionInfo } from './schemas/system.js';

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
  /**
   * With `?follow=1` the endpoint answers with server-sent events of this schema instead of
   * `response` (after first sending what `response` would hold, one event per line).
   */
  readonly follow?: TSchema;
}

export const endpoints = {
  getVersion: {
    method: 'GET',
    path: '/v1/version',
    summary: 'hearthd and API versions, and the VMMs found on this machine',
    response: VersionInfo,
  },
  getCaller: {
    method: 'GET',
    path: '/v1/me',
    summary: 'Who is asking (uid from the kernel) and whether they may change settings and classes',
    response: CallerInfo,
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
  listEnvironments: {
    method: 'GET',
    path: '/v1/environments',
    summary: 'All environments on this machine, oldest first',
    response: EnvironmentList,
  },
  createEnvironment: {
    method: 'POST',
    path: '/v1/environments',
    summary: 'Create an environment (its own copy-on-write disk over the image) and, unless start is false, boot it',
    body: CreateEnvironment,
    response: Environment,
    status: 201,
  },
  getEnvironment: {
    method: 'GET',
    path: '/v1/environments/{id}',
    summary: 'One environment, by id or name',
    params: EnvironmentParams,
    response: Environment,
  },
  deleteEnvironment: {
    method: 'DELETE',
    path: '/v1/environments/{id}',
    summary: 'Kill its VM if one runs and remove every file the environment owned',
    params: EnvironmentParams,
    response: Environment,
  },
  startEnvironment: {
    method: 'POST',
    path: '/v1/environments/{id}/start',
    summary: 'Boot a stopped or failed environment on its existing disk',
    params: EnvironmentParams,
    response: Environment,
    status: 202,
  },
  stopEnvironment: {
    method: 'POST',
    path: '/v1/environments/{id}/stop',
    summary: 'Press the ACPI power button; kill the VMM if the guest is not off within stopTimeoutSeconds',
    params: EnvironmentParams,
    query: StopQuery,
    response: Environment,
    status: 202,
  },
  restartEnvironment: {
    method: 'POST',
    path: '/v1/environments/{id}/restart',
    summary: 'Stop (gracefully) and start again on the same disk',
    params: EnvironmentParams,
    response: Environment,
    status: 202,
  },
  getEnvironmentLogs: {
    method: 'GET',
    path: '/v1/environments/{id}/logs',
    summary: "The last lines of the environment's serial console (or of hearthd's event log for it); follow=1 streams",
    params: EnvironmentParams,
    query: LogsQuery,
    response: LogLines,
    follow: LogLinesEvent,
  },
  getEnvironmentStats: {
    method: 'GET',
    path: '/v1/environments/{id}/stats',
    summary: "Live figures of the environment's VMM (CPU, resident memory) and of its disk",
    params: EnvironmentParams,
    response: EnvironmentStats,
  },
  listImages: {
    method: 'GET',
    path: '/v1/images',
    summary:
      'Images environments can be created from: downloaded from the catalog, built locally, or installed by an administrator',
    response: ImageList,
  },
  deleteImage: {
    method: 'DELETE',
    path: '/v1/images/{name}',
    summary: 'Administrators: remove an image no environment uses',
    params: ImageParams,
    response: ImageList,
  },
  getCatalog: {
    method: 'GET',
    path: '/v1/catalog',
    summary: 'Images hearthd can download and verify (Ubuntu 24.04 LTS, Debian 12), with any download in progress',
    response: Catalog,
  },
  downloadImage: {
    method: 'POST',
    path: '/v1/catalog/{name}/download',
    summary:
      'Administrators: download, verify and install a catalog image in the background (progress as image events; an interrupted download resumes)',
    params: CatalogParams,
    response: CatalogEntry,
    status: 202,
  },
  listClasses: {
    method: 'GET',
    path: '/v1/classes',
    summary: 'Environment classes (CPUs, memory, disk)',
    response: ClassList,
  },
  getClass: {
    method: 'GET',
    path: '/v1/classes/{name}',
    summary: 'One environment class',
    params: ClassParams,
    response: EnvironmentClass,
  },
  putClass: {
    method: 'PUT',
    path: '/v1/classes/{name}',
    summary: 'Create or replace an environment class (running environments keep what they started with)',
    params: ClassParams,
    body: ClassBody,
    response: EnvironmentClass,
  },
  deleteClass: {
    method: 'DELETE',
    path: '/v1/classes/{name}',
    summary: 'Remove an environment class no environment uses',
    params: ClassParams,
    response: ClassList,
  },
  getProfile: {
    method: 'GET',
    path: '/v1/me/profile',
    summary: "The caller's own settings: the git name and email commits in their environments are made with",
    response: Profile,
  },
  putProfile: {
    method: 'PUT',
    path: '/v1/me/profile',
    summary: "Replace the caller's own settings (environments created afterwards use them)",
    body: Profile,
    response: Profile,
  },
  listCredentials: {
    method: 'GET',
    path: '/v1/credentials',
    summary: "The caller's own repository credentials, per Git host: never a secret, only what identifies them",
    response: CredentialList,
  },
  addCredential: {
    method: 'POST',
    path: '/v1/credentials',
    summary:
      'Add a credential for a Git host: a personal access token (HTTPS), or a key pair hearthd generates (SSH) whose public half you add to the host; replaces the caller’s credential of that kind for that host',
    body: AddCredential,
    response: Credential,
    status: 201,
  },
  deleteCredential: {
    method: 'DELETE',
    path: '/v1/credentials/{id}',
    summary: 'Remove one of the caller’s credentials; environments stop receiving it at once',
    params: CredentialParams,
    response: CredentialList,
  },
  checkAccess: {
    method: 'POST',
    path: '/v1/repositories/check',
    summary:
      "Check that the caller's credential for the repository's host reaches it (git ls-remote, unprivileged, with a timeout): branches, the default branch and the ref's commit, or why not",
    body: CheckAccess,
    response: AccessCheck,
  },
  listGitHostKeys: {
    method: 'GET',
    path: '/v1/git-host-keys',
    summary: 'SSH Git hosts’ keys the caller trusts: preloaded (github.com, gitlab.com, bitbucket.org) and confirmed',
    response: GitHostKeyList,
  },
  confirmGitHostKey: {
    method: 'POST',
    path: '/v1/git-host-keys',
    summary:
      'Trust the key an SSH Git host offered in a check (after comparing its fingerprint); strict checking applies from then on',
    body: ConfirmGitHostKey,
    response: GitHostKeyList,
  },
  getHearthdLog: {
    method: 'GET',
    path: '/v1/log',
    summary:
      "hearthd's own recent log (an in-memory ring): all of it for administrators, members only the entries about their environments; follow=1 streams",
    query: HearthdLogQuery,
    response: HearthdLog,
    follow: HearthdLogEntriesEvent,
  },
  events: {
    method: 'GET',
    path: '/v1/events',
    summary: 'Server-sent event stream: hello, heartbeat, readiness, config, environment and class changes',
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

/** Endpoints that can also stream (`?follow=1`). */
export type FollowableName = {
  [N in EndpointName]: Endpoints[N] extends { follow: TSchema } ? N : never;
}[EndpointName];
export type FollowEventOf<N extends FollowableName> = Endpoints[N] extends { follow: infer S extends TSchema }
  ? Static<S>
  : never;
