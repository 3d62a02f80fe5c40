import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A signing key made for the test, in its own GNUPGHOME (gpg, as a publisher would sign). */
export class TestSigner {
  private constructor(
    readonly home: string,
    readonly uid: string,
    /** Seconds since the epoch, at or after the key's creation: a signature may be dated from here on. */
    readonly createdAt: number,
  ) {}

  static async create(home: string, uid: string): Promise<TestSigner> {
    await mkdir(home, { recursive: true, mode: 0o700 });
    await run('gpg', [
      '--homedir',
      home,
      '--batch',
      '--passphrase',
      '',
      '--quick-gen-key',
      uid,
      'ed25519',
      'sign',
      'never',
    ]);
    return new TestSigner(home, uid, Math.ceil(Date.now() / 1000));
  }

  /** The public key as a binary keyring, the format the shipped keyrings have. */
  async exportKeyring(file: string): Promise<void> {
    const { stdout } = await run('gpg', ['--homedir', this.home, '--export', this.uid], {
      encoding: 'buffer',
    });
    await writeFile(file, stdout);
  }

  /** A detached signature, armored like Debian's .sign and Ubuntu's .gpg files; `at` backdates it (seconds). */
  async sign(data: Buffer, at?: number): Promise<Buffer> {
    const file = join(this.home, `data-${Date.now()}`);
    await writeFile(file, data);
    await run('gpg', [
      '--homedir',
      this.home,
      '--batch',
      '--yes',
      '--armor',
      ...(at === undefined ? [] : ['--faked-system-time', `${at}!`]),
      '--detach-sign',
      '--output',
      `${file}.sig`,
      file,
    ]);
    return readFile(`${file}.sig`);
  }
}

export interface SiteRequest {
  path: string;
  range: string | undefined;
}

/**
 * A fake image site on 127.0.0.1: static files with Range and If-Range support, sent slowly
 * (so progress can be seen), and able to cut a connection or stall partway through a file.
 */
export class CatalogSite {
  readonly requests: SiteRequest[] = [];
  /** path → bytes after which the next response for it is cut (the socket destroyed), once. */
  readonly cutAfter = new Map<string, number>();
  /** path → bytes after which the next response for it stops sending and never ends. */
  readonly stallAfter = new Map<string, number>();
  private readonly files = new Map<string, Buffer>();
  private readonly stalled = new Set<ServerResponse>();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<CatalogSite> {
    const server = createServer();
    const site = new CatalogSite(server);
    server.on('request', (req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const range = typeof req.headers.range === 'string' ? req.headers.range : undefined;
      site.requests.push({ path, range });
      void site.serve(path, range, req.headers['if-range'], res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return site;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  put(path: string, data: Buffer): void {
    this.files.set(path, data);
  }

  etagOf(data: Buffer): string {
    return `"${createHash('sha1').update(data).digest('hex')}"`;
  }

  private async serve(path: string, range: string | undefined, ifRange: unknown, res: ServerResponse) {
    const data = this.files.get(path);
    if (!data) {
      res.writeHead(404).end();
      return;
    }
    const etag = this.etagOf(data);
    let start = 0;
    const match = range ? /^bytes=(\d+)-$/.exec(range) : null;
    if (match && (ifRange === undefined || ifRange === etag)) {
      start = Number(match[1]);
      if (start >= data.length) {
        res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
        return;
      }
      res.writeHead(206, {
        'content-range': `bytes ${start}-${data.length - 1}/${data.length}`,
        'content-length': data.length - start,
        etag,
      });
    } else res.writeHead(200, { 'content-length': data.length, etag, 'accept-ranges': 'bytes' });

    const cut = this.cutAfter.get(path);
    if (cut !== undefined) this.cutAfter.delete(path);
    const stall = this.stallAfter.get(path);
    if (stall !== undefined) this.stallAfter.delete(path);
    const chunk = 64 * 1024;
    let sent = 0;
    for (let at = start; at < data.length; at += chunk) {
      const piece = data.subarray(at, Math.min(at + chunk, data.length));
      if (cut !== undefined && sent + piece.length > cut) {
        res.write(piece.subarray(0, cut - sent));
        res.socket?.destroy();
        return;
      }
      if (stall !== undefined && sent + piece.length > stall) {
        res.write(piece.subarray(0, stall - sent));
        this.stalled.add(res);
        return;
      }
      if (!res.write(piece)) await new Promise((r) => res.once('drain', r));
      sent += piece.length;
      // About 3 MiB/s: a few MiB take long enough for several progress events.
      await new Promise((r) => setTimeout(r, 20));
      if (res.destroyed) return;
    }
    res.end();
  }

  async close(): Promise<void> {
    for (const res of this.stalled) res.socket?.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
