/**
 * Repository URLs, judged purely by their text: the form checks them as they are typed, hearthd
 * before it looks at anything else. Only `https://` and SSH (`ssh://` or scp-like `user@host:path`)
 * pass; everything git could read as a local path, another transport (`file:`, `git://`, `ext::`,
 * `fd::`, any `<helper>::`), an option (a leading `-` anywhere it could reach a command line) or a
 * secret (userinfo with a password) is refused with a reason a person can act on.
 */

export type RepositoryTransport = 'https' | 'ssh';

export interface RepositoryLocation {
  transport: RepositoryTransport;
  /** Lower-case host name, dotted IPv4, or a bracketed IPv6 literal. */
  host: string;
  /** The port when the URL names one that is not the transport's default. */
  port: number | null;
  /** How credentials and host keys are keyed: `host` plus `:port` when not the default. */
  credentialHost: string;
  /** The SSH user (`git`), or the https user name when the URL carries one (Azure DevOps). */
  user: string | null;
  /** The path on the host, without its leading slash: `owner/repo.git`. */
  path: string;
  /** Where it is cloned under /workspace: the last path segment without `.git`. */
  directory: string;
  /** The URL as given (it passed every check, so it is what git is handed). */
  url: string;
}

export type RepositoryUrlCheck = { ok: true; location: RepositoryLocation } | { ok: false; reason: string };

const MAX_LENGTH = 2048;
const DEFAULT_PORT: Record<RepositoryTransport, number> = { https: 443, ssh: 22 };
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const USER = /^[A-Za-z0-9._][A-Za-z0-9._+-]{0,63}$/;
/** A path segment: ordinary characters and %XX escapes; never an option, `.` or `..`. */
const SEGMENT = /^(?!-)(?!\.{1,2}$)([A-Za-z0-9._~+@=,-]|%[0-9A-Fa-f]{2}){1,255}$/;
/** Escapes that would decode to a separator or a control character. */
const BAD_ESCAPE = /%(0[0-9a-f]|1[0-9a-f]|7f|2f|5c)/i;
const DIRECTORY = /^[A-Za-z0-9._-]{1,100}$/;

const refuse = (reason: string): RepositoryUrlCheck => ({ ok: false, reason });

export function parseRepositoryUrl(input: string): RepositoryUrlCheck {
  if (input.length === 0) return refuse('Enter a repository URL');
  if (input.length > MAX_LENGTH) return refuse(`A repository URL is at most ${MAX_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this looks for
  if (/[\s\x00-\x1f\x7f]/.test(input)) return refuse('A repository URL has no spaces or control characters');
  if (/^https:\/\//i.test(input)) return parseUrlForm(input, 'https', input.slice('https://'.length));
  if (/^ssh:\/\//i.test(input)) return parseUrlForm(input, 'ssh', input.slice('ssh://'.length));
  if (/^http:\/\//i.test(input))
    return refuse('Plain http:// is refused: a token would travel in clear. Use the https:// URL');
  if (/^[/.~]/.test(input) || /^[A-Za-z]:[\\/]/.test(input))
    return refuse('That is a local path; give the https:// or SSH URL of a repository on a Git host');
  if (/^[A-Za-z][A-Za-z0-9+.-]*::/.test(input) || /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(input) || /^file:/i.test(input))
    return refuse('Only https:// and SSH repository URLs are accepted');
  return parseScpForm(input);
}

/** `https://[user@]host[:port]/path` and `ssh://[user@]host[:port]/path`. */
function parseUrlForm(url: string, transport: RepositoryTransport, rest: string): RepositoryUrlCheck {
  if (/[?#]/.test(rest)) return refuse('A repository URL has no query (?) or fragment (#)');
  const slash = rest.indexOf('/');
  if (slash === -1) return refuse('The URL names a host but no repository path');
  const authority = rest.slice(0, slash);
  let user: string | null = null;
  let hostPort = authority;
  const at = authority.lastIndexOf('@');
  if (at !== -1) {
    const userinfo = authority.slice(0, at);
    if (userinfo.includes(':'))
      return refuse('Remove the password or token from the URL; add it under Repository access instead');
    if (!USER.test(userinfo)) return refuse(`"${userinfo}" is not a user name Hearth accepts in a URL`);
    user = userinfo;
    hostPort = authority.slice(at + 1);
  }
  const place = parseHostPort(hostPort, transport);
  if (!place.ok) return refuse(place.reason);
  if (transport === 'ssh' && !user) return refuse('An ssh:// URL names its user: ssh://git@host/owner/repo');
  return withPath(url, transport, place.host, place.port, user, rest.slice(slash + 1));
}

/** scp-like `user@host:path` (git's own shorthand for SSH); the user is required so nothing reads as a path. */
function parseScpForm(url: string): RepositoryUrlCheck {
  const colon = url.indexOf(':');
  const at = url.indexOf('@');
  if (colon === -1 || at === -1 || at > colon)
    return refuse('Give an https:// URL, or an SSH one: git@host:owner/repo or ssh://git@host/owner/repo');
  const user = url.slice(0, at);
  if (!USER.test(user)) return refuse(`"${user}" is not a user name Hearth accepts in a URL`);
  const host = parseHost(url.slice(at + 1, colon));
  if (!host.ok) return refuse(host.reason);
  // `user@host:/srv/git/app.git` names an absolute path on the host; its segments are checked the same.
  return withPath(url, 'ssh', host.host, null, user, url.slice(colon + 1).replace(/^\//, ''));
}

function withPath(
  url: string,
  transport: RepositoryTransport,
  host: string,
  port: number | null,
  user: string | null,
  path: string,
): RepositoryUrlCheck {
  const segments = path.replace(/\/$/, '').split('/');
  if (segments.length === 0 || segments[0] === '') return refuse('The URL names no repository path');
  for (const segment of segments) {
    if (segment.startsWith('-')) return refuse('A path segment may not start with "-" (it would read as an option)');
    if (!SEGMENT.test(segment)) return refuse(`"${segment}" is not a path segment Hearth accepts`);
    if (BAD_ESCAPE.test(segment)) return refuse('The path escapes a slash or a control character');
  }
  const last = segments.at(-1)!;
  const directory = last.replace(/\.git$/, '');
  if (!DIRECTORY.test(directory) || directory === '.' || directory === '..')
    return refuse(`The repository's name "${directory}" cannot be a directory name (letters, digits, ".", "_", "-")`);
  const explicit = port !== null && port !== DEFAULT_PORT[transport] ? port : null;
  return {
    ok: true,
    location: {
      transport,
      host,
      port: explicit,
      credentialHost: explicit === null ? host : `${host}:${explicit}`,
      user,
      path: segments.join('/'),
      directory,
      url,
    },
  };
}

type HostCheck = { ok: true; host: string } | { ok: false; reason: string };

function parseHostPort(
  text: string,
  transport: RepositoryTransport,
): { ok: true; host: string; port: number | null } | { ok: false; reason: string } {
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(text);
  if (!match) return { ok: false, reason: `"${text}" is not a host and port` };
  const host = parseHost(match[1]!);
  if (!host.ok) return host;
  if (match[2] === undefined) return { ok: true, host: host.host, port: null };
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return { ok: false, reason: `Port ${match[2]} is outside 1–65535` };
  return { ok: true, host: host.host, port: port === DEFAULT_PORT[transport] ? null : port };
}

function parseHost(text: string): HostCheck {
  if (text.length === 0) return { ok: false, reason: 'The URL names no host' };
  if (text.startsWith('-')) return { ok: false, reason: 'A host may not start with "-" (it would read as an option)' };
  if (text.startsWith('[')) {
    if (!/^\[[0-9A-Fa-f:.]{2,45}\]$/.test(text) || !isIpv6Literal(text))
      return { ok: false, reason: `"${text}" is not an IPv6 address` };
    return { ok: true, host: text.toLowerCase() };
  }
  const host = text.toLowerCase();
  if (IPV4.test(host)) return { ok: true, host };
  if (/^[\d.]+$/.test(host)) return { ok: false, reason: `"${text}" is not an IPv4 address` };
  if (host.length > 253 || !host.split('.').every((label) => LABEL.test(label)))
    return { ok: false, reason: `"${text}" is not a valid host name` };
  return { ok: true, host };
}

/** An IPv6 literal in brackets: hex groups, at most one `::`, optionally ending in dotted IPv4. */
function isIpv6Literal(bracketed: string): boolean {
  let text = bracketed.slice(1, -1).toLowerCase();
  let groups = 8;
  const v4 = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    if (!IPV4.test(v4[1]!)) return false;
    text = text.slice(0, v4.index + 1) + '0';
    groups = 7;
  }
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const parts = halves.map((half) => (half === '' ? [] : half.split(':')));
  if (!parts.every((list) => list.every((group) => /^[0-9a-f]{1,4}$/.test(group)))) return false;
  const count = parts.reduce((sum, list) => sum + list.length, 0);
  return halves.length === 2 ? count < groups : count === groups;
}
