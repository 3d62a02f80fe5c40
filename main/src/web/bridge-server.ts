import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { build } from 'esbuild';
import { SAVE_LOG_MAX_CHARS, type IpcEvent, type IpcEventName } from '#protocol';
import { bridgeSenderPolicy, IpcRouter, type IpcHandlers } from '../core/ipc-router.js';

/**
 * Browser mode, for development and end-to-end tests only (never in the packaged app): serves the
 * renderer bundle on 127.0.0.1 and carries `window.hearth` over HTTP to the same IPC handlers the
 * Electron main process serves. Every API request needs the random bearer token and must come
 * from our own origin, so neither other local users nor web pages in the same browser can use it.
 */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};
const MAX_BODY = 64 * 1024;
/** saveLog carries a whole log; JSON escaping can double it (the router then checks its length). */
const MAX_SAVE_BODY = 2 * SAVE_LOG_MAX_CHARS + MAX_BODY;

export interface WebBridgeOptions {
  rendererDir: string;
  handlers: IpcHandlers;
  port?: number;
  onError?: (error: unknown) => void;
  /** The last event stream closed (the tab was closed or reloaded). */
  onAllPagesGone?: () => void;
}

export class WebBridge {
  /** Never logged: only `url` (which carries it in the fragment) leaves this object, to its owner. */
  private readonly token = randomBytes(32).toString('base64url');
  private readonly router: IpcRouter;
  private readonly streams = new Set<ServerResponse>();
  private server: Server | undefined;
  private origin = '';
  private clientScript: Promise<string> | undefined;

  constructor(private readonly options: WebBridgeOptions) {
    this.router = new IpcRouter(options.handlers, bridgeSenderPolicy, (_name, error) => options.onError?.(error));
  }

  /** The address to open: the token rides in the fragment, which browsers never send to servers. */
  get url(): string {
    return `${this.origin}/#hearth-token=${this.token}`;
  }

  async listen(): Promise<string> {
    const server = createServer((req, res) => {
      this.route(req, res).catch((error: unknown) => {
        this.options.onError?.(error);
        if (!res.headersSent) send(res, 500, 'text/plain', 'internal error');
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    this.origin = `http://127.0.0.1:${port}`;
    return this.url;
  }

  emit<N extends IpcEventName>(name: N, payload: IpcEvent<N>): void {
    const frame = `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;
    for (const res of this.streams) res.write(frame);
  }

  async close(): Promise<void> {
    for (const res of this.streams) res.end();
    this.streams.clear();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private authorized(req: IncomingMessage): boolean {
    // DNS rebinding: the Host must be our literal address; cross-site pages: Origin must be ours.
    if (`http://${req.headers.host ?? ''}` !== this.origin) return false;
    if (req.headers.origin !== undefined && req.headers.origin !== this.origin) return false;
    const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const a = Buffer.from(given);
    const b = Buffer.from(this.token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    if (url.pathname.startsWith('/bridge/')) {
      const authenticated = this.authorized(req);
      if (url.pathname === '/bridge/events' && req.method === 'GET') {
        if (!authenticated) {
          send(res, 401, 'application/json', '{"error":"unauthorized"}');
          return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
        res.write(': hearth bridge\n\n');
        this.streams.add(res);
        req.once('close', () => {
          this.streams.delete(res);
          if (this.streams.size === 0) this.options.onAllPagesGone?.();
        });
        return;
      }
      const invoke = /^\/bridge\/invoke\/([A-Za-z]+)$/.exec(url.pathname);
      if (invoke && req.method === 'POST') {
        if (!authenticated) {
          send(res, 401, 'application/json', '{"error":"unauthorized"}');
          return;
        }
        if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
          send(res, 415, 'application/json', '{"error":"expected application/json"}');
          return;
        }
        const body = await readBody(req, invoke[1] === 'saveLog' ? MAX_SAVE_BODY : MAX_BODY);
        if (body === undefined) {
          send(res, 413, 'application/json', '{"error":"too large"}');
          return;
        }
        let request: unknown;
        try {
          request = JSON.parse(body);
        } catch {
          send(res, 400, 'application/json', '{"error":"invalid JSON"}');
          return;
        }
        const result = await this.router.handle(invoke[1]!, { kind: 'bridge', authenticated }, request);
        send(res, 200, 'application/json', JSON.stringify(result));
        return;
      }
      send(res, 404, 'application/json', '{"error":"not found"}');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain', 'method not allowed');
      return;
    }
    if (url.pathname === '/hearth-bridge.js') {
      send(res, 200, TYPES['.js']!, await this.bridgeClient());
      return;
    }
    return this.serveStatic(url.pathname, res);
  }

  private async serveStatic(pathname: string, res: ServerResponse): Promise<void> {
    const relative = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '');
    const root = normalize(this.options.rendererDir) + sep;
    const file = normalize(join(root, relative));
    if (!file.startsWith(root)) {
      send(res, 403, 'text/plain', 'forbidden');
      return;
    }
    let content: Buffer;
    try {
      content = await readFile(file);
    } catch {
      send(res, 404, 'text/plain', 'not found');
      return;
    }
    if (relative === 'index.html') {
      // The one difference from Electron: the bridge client is loaded before the app.
      // The one difference from Electron: the bridge client is loaded before the app, and the page
      // may fetch from its own origin (the bridge); Electron's page may fetch nothing at all.
      content = Buffer.from(
        content
          .toString('utf8')
          .replace('<head>', '<head>\n    <script src="/hearth-bridge.js"></script>')
          .replace("connect-src 'none'", "connect-src 'self'"),
      );
    }
    send(res, 200, TYPES[extname(file)] ?? 'application/octet-stream', content);
  }

  private bridgeClient(): Promise<string> {
    this.clientScript ??= build({
      entryPoints: [join(import.meta.dirname, 'bridge-client.ts')],
      bundle: true,
      write: false,
      format: 'iife',
      target: 'chrome120',
      logLevel: 'silent',
    }).then((result) => result.outputFiles[0]!.text);
    return this.clientScript;
  }
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  res.end(body);
}

function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}
