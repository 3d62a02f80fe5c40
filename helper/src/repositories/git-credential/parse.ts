import { CONTROL, expandCredentialUrl, HOST, PROTOCOL } from './url.js';

/**
 * What a guest's git asks, read strictly. git's credential protocol (git-credential(1)) is an
 * action line, then `key=value` lines up to a blank line or the end. Every byte is suspect here:
 * whatever a value holds is what hearthd decides on, and the CVE-2020-5260 class of bugs is a
 * value that reads one way to the checker and another way downstream. So: UTF-8 only, no control
 * character anywhere (NUL, CR, a newline inside a value cannot exist), every line `key=value`
 * with a well-formed key, each single-valued attribute set once, and the values that decide
 * (protocol, host) in their exact shapes. Anything else refuses the whole request.
 */

export interface CredentialRequest {
  protocol: string;
  host: string;
  path: string | null;
  username: string | null;
}

export type CredentialAction = 'get' | 'store' | 'erase';

export type ParsedCredentialInput =
  | { action: CredentialAction; request: CredentialRequest }
  /** Store and erase need no protocol or host: they are answered with nothing. */
  | { action: Exclude<CredentialAction, 'get'>; request: null }
  | { refused: string; host?: string; path?: string };

const ACTIONS: readonly string[] = ['get', 'store', 'erase'];
/** Keys are git's lower-case names; `[]` marks the multi-valued ones (capability[], wwwauth[], state[]). */
const KEY = /^[a-z][a-z0-9_]{0,63}(\[\])?$/;
const SINGLE = ['protocol', 'host', 'path', 'username'] as const;
type Single = (typeof SINGLE)[number];
const isSingle = (key: string): key is Single => (SINGLE as readonly string[]).includes(key);
const MAX_PATH = 4096;
const MAX_USERNAME = 256;

/** `input` is the bytes up to (not including) the blank line, or all of them when none came. */
export function parseCredentialInput(input: Buffer): ParsedCredentialInput {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
  } catch {
    return { refused: 'the request is not UTF-8' };
  }
  const lines = text.split('\n');
  // A final newline leaves one empty string behind; an empty line anywhere else was the end.
  if (lines.length > 1 && lines.at(-1) === '') lines.pop();
  if (lines.some((line) => CONTROL.test(line))) return { refused: 'a control character in the request' };
  if (lines.includes('')) return { refused: 'an empty line inside the request' };

  const action = lines.shift();
  if (action === undefined || !ACTIONS.includes(action)) return { refused: 'an unknown action' };

  const set: Partial<Record<Single, string | null>> = {};
  const assign = (key: Single, value: string | null): string | null => {
    if (key in set) return `${key} given twice`;
    set[key] = value;
    return null;
  };
  for (const line of lines) {
    const equals = line.indexOf('=');
    if (equals <= 0) return { refused: 'a line that is not key=value' };
    const key = line.slice(0, equals);
    const value = line.slice(equals + 1);
    if (!KEY.test(key)) return { refused: 'a malformed attribute name' };
    if (key === 'url') {
      const parts = expandCredentialUrl(value);
      if ('refused' in parts) return parts;
      const twice =
        assign('protocol', parts.protocol) ??
        assign('host', parts.host) ??
        assign('path', parts.path) ??
        assign('username', parts.username);
      if (twice) return { refused: twice };
    } else if (isSingle(key)) {
      const twice = assign(key, value === '' ? null : value);
      if (twice) return { refused: twice };
    }
    // Every other key (password, wwwauth[], capability[], authtype, …) decides nothing here and is
    // ignored; its value has already passed the control-character check with the rest.
  }

  const { protocol = null, host = null, path = null, username = null } = set;
  const known = { ...(host !== null && HOST.test(host) ? { host } : {}), ...(path !== null ? { path } : {}) };
  if (protocol !== null && !PROTOCOL.test(protocol)) return { refused: 'an invalid protocol', ...known };
  if (host !== null && !HOST.test(host)) return { refused: 'an invalid host', ...known };
  if (path !== null && path.length > MAX_PATH) return { refused: 'a path too long', ...known };
  if (username !== null && username.length > MAX_USERNAME) return { refused: 'a user name too long', ...known };
  if (action !== 'get') return { action: action as 'store' | 'erase', request: null };
  if (protocol === null || host === null) return { refused: 'a request without protocol or host', ...known };
  return { action: 'get', request: { protocol, host, path, username } };
}
