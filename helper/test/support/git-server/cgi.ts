import type { IncomingHttpHeaders } from 'node:http';

/**
 * The two halves of the CGI contract (RFC 3875) that git http-backend speaks: the environment a
 * request becomes, and the header block its answer starts with.
 */

export interface CgiRequest {
  method: string;
  /** The path after the repository root, e.g. `/app.git/info/refs`. */
  pathInfo: string;
  query: string;
  headers: IncomingHttpHeaders;
  remoteUser: string;
  remoteAddr: string;
}

/** The variables git http-backend reads, plus every request header as HTTP_* (it reads HTTP_CONTENT_ENCODING and HTTP_GIT_PROTOCOL). */
export function cgiEnvironment(projectRoot: string, request: CgiRequest): Record<string, string> {
  const env: Record<string, string> = {
    PATH: '/usr/bin:/bin',
    GIT_PROJECT_ROOT: projectRoot,
    GIT_HTTP_EXPORT_ALL: '1',
    GIT_CONFIG_NOSYSTEM: '1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: 'HTTP/1.1',
    REQUEST_METHOD: request.method,
    PATH_INFO: request.pathInfo,
    QUERY_STRING: request.query,
    REMOTE_USER: request.remoteUser,
    REMOTE_ADDR: request.remoteAddr,
    AUTH_TYPE: 'Basic',
  };
  const type = request.headers['content-type'];
  if (type !== undefined) env.CONTENT_TYPE = type;
  // Absent for chunked bodies: http-backend then reads its stdin to the end.
  const length = request.headers['content-length'];
  if (length !== undefined) env.CONTENT_LENGTH = length;
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || name === 'authorization') continue; // the token stays out of the CGI
    env[`HTTP_${name.toUpperCase().replaceAll('-', '_')}`] = Array.isArray(value) ? value.join(', ') : value;
  }
  return env;
}

export interface CgiHead {
  status: number;
  headers: [string, string][];
  /** The bytes after the header block: the start of the body. */
  rest: Buffer;
}

/**
 * The header block at the start of `data`, once it is complete (undefined until then). A `Status:`
 * header sets the status (200 without one); lines may end in LF or CRLF, as CGI allows both.
 */
export function parseCgiHead(data: Buffer): CgiHead | undefined {
  const lf = data.indexOf('\n\n');
  const crlf = data.indexOf('\r\n\r\n');
  let end: number;
  let skip: number;
  if (crlf >= 0 && (lf < 0 || crlf < lf)) [end, skip] = [crlf, 4];
  else if (lf >= 0) [end, skip] = [lf, 2];
  else return undefined;
  let status = 200;
  const headers: [string, string][] = [];
  for (const line of data.subarray(0, end).toString('latin1').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`not a CGI header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
    else headers.push([name, value]);
  }
  if (!Number.isInteger(status) || status < 100 || status > 599) throw new Error(`bad CGI status: ${status}`);
  return { status, headers, rest: data.subarray(end + skip) };
}
