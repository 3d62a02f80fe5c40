/**
 * The HTTPS half of the test Git server, run as its own process (inside the test's network
 * namespace): `node --import tsx https-backend.ts --address A --port P --root DIR --cert C --key K
 * --uid U --gid G --host-name N`, the token in $GITSRV_TOKEN (not on a command line). Prints one
 * JSON line `{"port":…}` once it listens; runs until killed.
 *
 * Smart HTTP is git's own `git http-backend` behind this server as a CGI, so what a client meets is
 * real git, with what a Git host adds in front of it: a token (HTTP Basic, any user name, the token
 * as the password; 401 with a Basic challenge otherwise), 404 for a repository that does not exist,
 * and `/moved/<path>`, a 302 to the same path under another host name (a client must not follow it).
 */
import { spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cgiEnvironment, parseCgiHead } from './cgi.js';

const { values } = parseArgs({
  options: {
    address: { type: 'string' },
    port: { type: 'string', default: '0' },
    root: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    uid: { type: 'string' },
    gid: { type: 'string' },
    'host-name': { type: 'string' },
  },
});
const need = (name: keyof typeof values): string => {
  const value = values[name];
  if (typeof value !== 'string') throw new Error(`--${name} is required`);
  return value;
};
const root = need('root');
const hostName = need('host-name');
const uid = Number(need('uid'));
const gid = Number(need('gid'));
const token = Buffer.from(process.env.GITSRV_TOKEN ?? '');
if (token.length === 0) throw new Error('GITSRV_TOKEN is required');

/** A repository path: one segment ending in .git, then what http-backend serves inside it. */
const REPOSITORY_PATH = /^\/([A-Za-z0-9._-]+\.git)(\/.*)?$/;

function userOf(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const match = header === undefined ? null : /^Basic +([A-Za-z0-9+/=]+)$/i.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const password = Buffer.from(decoded.slice(colon + 1));
  if (password.length !== token.length || !timingSafeEqual(password, token)) return undefined;
  return decoded.slice(0, colon) || 'token';
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(`${text}\n`);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'https://placeholder');
  if (url.pathname.startsWith('/moved/')) {
    const port = (server.address() as AddressInfo).port;
    const target = `https://${hostName}:${port}/${url.pathname.slice('/moved/'.length)}${url.search}`;
    plain(res, 302, 'moved', { location: target });
    return;
  }
  const user = userOf(req);
  if (user === undefined) {
    plain(res, 401, 'authentication required', { 'www-authenticate': 'Basic realm="hearth-test-gitsrv"' });
    return;
  }
  const match = REPOSITORY_PATH.exec(url.pathname);
  if (!match?.[1] || !existsSync(join(root, match[1], 'HEAD'))) {
    plain(res, 404, 'repository not found');
    return;
  }
  const cgi = spawn('git', ['http-backend'], {
    uid,
    gid,
    cwd: root,
    env: cgiEnvironment(root, {
      method: req.method ?? 'GET',
      pathInfo: url.pathname,
      query: url.search.slice(1),
      headers: req.headers,
      remoteUser: user,
      remoteAddr: req.socket.remoteAddress ?? '',
    }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // The request body (gzip or not: http-backend inflates it itself) goes through untouched.
  req.pipe(cgi.stdin);
  cgi.stdin.on('error', () => undefined); // the CGI may answer without reading it all
  cgi.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  let head: Buffer = Buffer.alloc(0);
  let started = false;
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    let parsed;
    try {
      parsed = parseCgiHead(head);
    } catch (error) {
      cgi.kill('SIGKILL');
      plain(res, 502, `bad CGI answer: ${String(error)}`);
      return;
    }
    if (!parsed) return;
    started = true;
    cgi.stdout.off('data', onData);
    res.writeHead(parsed.status, parsed.headers.flat());
    if (parsed.rest.length) res.write(parsed.rest);
    cgi.stdout.pipe(res);
  };
  cgi.stdout.on('data', onData);
  cgi.on('error', (error) => {
    if (!started) plain(res, 502, `cannot run git http-backend: ${error.message}`);
  });
  cgi.on('close', (code, signal) => {
    if (!started && !res.headersSent)
      plain(res, 502, `git http-backend ended (${String(code ?? signal)}) without an answer`);
  });
  res.on('close', () => {
    if (cgi.exitCode === null) cgi.kill('SIGTERM');
  });
}

const server = createServer({ cert: readFileSync(need('cert')), key: readFileSync(need('key')) }, handle);
server.listen(Number(values.port), need('address'), () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
