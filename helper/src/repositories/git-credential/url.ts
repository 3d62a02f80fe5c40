/**
 * The `url=` attribute of git's credential protocol, expanded as git does (credential.c,
 * credential_from_url_gently): `protocol://[user@]host[:port][/path]`, the user and path
 * percent-decoded, trailing slashes of the path dropped. Where git's reading and a URL parser's
 * could differ, the URL is refused instead: `?`, `#` and `\` anywhere (git ends the host only at
 * `/`, so `https://evil#@good/` is `good` to git and `evil` to a browser), more than one `@`, a
 * password in it, a percent sign in the host, a bad percent escape, and any control character
 * after decoding (CVE-2020-5260 smuggled a newline in as `%0a`).
 */

export interface UrlParts {
  protocol: string;
  host: string;
  path: string | null;
  username: string | null;
}

export const PROTOCOL = /^[a-z][a-z0-9+.-]{0,31}$/;
/** A host name or bracketed IP literal, and a port; the same shape git's own URLs allow. */
export const HOST = /^([A-Za-z0-9]([A-Za-z0-9.-]{0,252})?|\[[0-9A-Fa-f:.]{2,45}\])(:[0-9]{1,5})?$/;
// eslint-disable-next-line no-control-regex -- control characters are exactly what this finds
export const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;

export function expandCredentialUrl(url: string): UrlParts | { refused: string } {
  if (/[?#\\]/.test(url)) return { refused: 'url= with ?, # or \\, which git and URL parsers read differently' };
  const separator = url.indexOf('://');
  if (separator <= 0) return { refused: 'url= without a protocol' };
  const protocol = url.slice(0, separator);
  if (!PROTOCOL.test(protocol)) return { refused: 'url= with an invalid protocol' };
  const rest = url.slice(separator + 3);
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const rawPath = slash === -1 ? null : rest.slice(slash + 1);

  const at = authority.split('@');
  if (at.length > 2) return { refused: 'url= with more than one @' };
  const rawUser = at.length === 2 ? at[0]! : null;
  const host = at.length === 2 ? at[1]! : at[0]!;
  if (rawUser !== null && rawUser.includes(':')) return { refused: 'url= carrying a password' };
  if (!HOST.test(host)) return { refused: 'url= with an invalid host' };

  const username = rawUser === null ? null : decode(rawUser);
  let path = rawPath === null ? null : decode(rawPath);
  if (username === undefined || path === undefined) return { refused: 'url= with a bad percent escape' };
  if ((username !== null && CONTROL.test(username)) || (path !== null && CONTROL.test(path)))
    return { refused: 'url= hiding a control character in a percent escape' };
  if (path !== null) {
    path = path.replace(/\/+$/, '');
    if (path === '') path = null;
  }
  return { protocol, host, path, username: username === '' ? null : username };
}

/** Percent-decoding that refuses what it cannot read, rather than passing it through. */
function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
