import { Value } from '@sinclair/typebox/value';
import {
  AddCredential,
  CaCertificate,
  GitHost,
  GitRef,
  parseRepositoryUrl,
  type AccessCheckCode,
  type RepositoryLocation,
} from '#protocol';

/**
 * The rules of the repository forms, checked in the window with the API's own schemas and
 * parseRepositoryUrl (the same code hearthd refuses with), so a wrong field is named as it is
 * typed; hearthd's answer still decides.
 */

/** A URL field: empty is "no repository"; otherwise its location, or why not. */
export type UrlField =
  { state: 'empty' } | { state: 'ok'; location: RepositoryLocation } | { state: 'bad'; reason: string };

export function checkUrl(text: string): UrlField {
  if (text === '') return { state: 'empty' };
  const checked = parseRepositoryUrl(text);
  return checked.ok ? { state: 'ok', location: checked.location } : { state: 'bad', reason: checked.reason };
}

export const REF_RULE =
  'A branch, tag or commit: letters, digits and . _ / @ + -, not starting with - or /, without "..".';

/** null: fine (or empty: the default branch); else the rule. */
export function refProblem(text: string): string | null {
  return text === '' || Value.Check(GitRef, text) ? null : REF_RULE;
}

export const HOST_RULE = 'A host name as repository URLs have it: github.com, or git.example.com:8443 with a port.';

/**
 * The host a credential is for, as credentials are keyed: what the user typed, lower-cased; a
 * pasted repository URL gives its host (with the port when it names one).
 */
export function hostOf(text: string): string | null {
  const trimmed = text.trim();
  const fromUrl = parseRepositoryUrl(trimmed);
  const host = fromUrl.ok ? fromUrl.location.credentialHost : trimmed.toLowerCase();
  return Value.Check(GitHost, host) ? host : null;
}

/**
 * Further hosts whose token the environment's git may ask for (submodules): typed as a list
 * separated by spaces or commas; each must be a host as credentials are keyed.
 */
export function grantHostsOf(text: string): { hosts: string[] } | { problem: string } {
  const hosts: string[] = [];
  for (const word of text.split(/[\s,]+/).filter(Boolean)) {
    const host = hostOf(word);
    if (host === null) return { problem: `"${word}": ${HOST_RULE}` };
    if (!hosts.includes(host)) hosts.push(host);
  }
  if (hosts.length > 8) return { problem: 'At most 8 hosts.' };
  return { hosts };
}

export type TokenField = 'host' | 'token' | 'username' | 'caCertificate';
export interface TokenDraft {
  host: string;
  token: string;
  username: string;
  caCertificate: string;
}
export const EMPTY_TOKEN: TokenDraft = { host: '', token: '', username: '', caCertificate: '' };

const TOKEN_SCHEMA = AddCredential.anyOf[0];
const TOKEN_RULE: Record<TokenField, string> = {
  host: HOST_RULE,
  token: 'Paste the token: one line of printable characters, no spaces.',
  username: 'Letters, digits and . _ @ + - only.',
  caCertificate: 'A PEM certificate, from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----.',
};

/** The body to send, or each wrong field's rule (never the value: the token is not echoed). */
export function validateToken(
  draft: TokenDraft,
): { body: AddCredential } | { errors: Partial<Record<TokenField, string>> } {
  const errors: Partial<Record<TokenField, string>> = {};
  const host = hostOf(draft.host);
  if (host === null) errors.host = TOKEN_RULE.host;
  const username = draft.username.trim();
  const ca = draft.caCertificate.trim();
  const body = {
    host: host ?? '',
    kind: 'token' as const,
    token: draft.token,
    ...(username !== '' && { username }),
    ...(ca !== '' && { caCertificate: `${ca}\n` }),
  };
  if (!Value.Check(TOKEN_SCHEMA.properties.token, body.token)) errors.token = TOKEN_RULE.token;
  if (username !== '' && !Value.Check(TOKEN_SCHEMA.properties.username, username))
    errors.username = TOKEN_RULE.username;
  if (ca !== '' && !Value.Check(CaCertificate, body.caCertificate)) errors.caCertificate = TOKEN_RULE.caCertificate;
  return Object.keys(errors).length > 0 ? { errors } : { body };
}

/** What each outcome of a check is called; hearthd's message says the particulars. */
export const CHECK_TITLE: Record<AccessCheckCode, string> = {
  ok: 'Access works',
  'unknown-host': 'Unknown host',
  unreachable: 'Host unreachable',
  'auth-refused': 'Authentication refused',
  'repository-not-found': 'Repository not found',
  'ref-not-found': 'Ref not found',
  'host-key-unknown': 'Unknown SSH host key',
  'host-key-changed': 'SSH host key changed',
  'tls-untrusted': 'Certificate not trusted',
  'no-credential': 'No credential for this host',
  timeout: 'Timed out',
  failed: 'Check failed',
};

export const shortSha = (sha: string) => sha.slice(0, 12);
