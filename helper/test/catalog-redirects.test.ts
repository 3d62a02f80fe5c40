import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogDispatcher, fetchBounded, redirectTarget } from '../src/images/catalog/fetcher.js';
import { CatalogSite } from './support/catalog-site.js';

const run = promisify(execFile);

// Redirects, as the catalog follows them: a real https server (a certificate made here, trusted
// through the dispatcher's test-only TLS options) that redirects to http and to https.
describe('catalog redirects', () => {
  let work: string;
  let site: CatalogSite;
  let server: ReturnType<typeof createHttpsServer>;
  let base: string;
  let ca: Buffer;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'hearth-redirects-'));
    const [key, cert] = [join(work, 'key.pem'), join(work, 'cert.pem')];
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-days',
      '1',
      '-keyout',
      key,
      '-out',
      cert,
    ]);
    ca = await readFile(cert);
    site = await CatalogSite.start();
    site.put('/plain/SHA256SUMS', Buffer.from('sums over http\n'));
    server = createHttpsServer({ key: await readFile(key), cert: ca }, (req, res) => {
      if (req.url === '/down') res.writeHead(302, { location: `${site.baseUrl}plain/SHA256SUMS` }).end();
      else if (req.url === '/across') res.writeHead(301, { location: '/secure/SHA256SUMS' }).end();
      else if (req.url === '/secure/SHA256SUMS') res.writeHead(200).end('sums over https\n');
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await site.close();
    await rm(work, { recursive: true, force: true });
  });

  const fetchSmall = (url: string) =>
    fetchBounded(catalogDispatcher({ ca }), url, 1024, AbortSignal.timeout(10_000)).then((b) => b.toString('utf8'));

  it('follows a redirect that stays on https', async () => {
    expect(await fetchSmall(`${base}/across`)).toBe('sums over https\n');
  });

  it('refuses a redirect from https to http, and asks the http site nothing', async () => {
    await expect(fetchSmall(`${base}/down`)).rejects.toThrow(/a redirect from https must stay on https/);
    expect(site.requests).toEqual([]);
  });

  it('judges each hop: https only ever to https, http (a mirror root chose) anywhere http(s)', () => {
    expect(redirectTarget('https://a.example/x', '/y')).toBe('https://a.example/y');
    expect(() => redirectTarget('https://a.example/x', 'http://a.example/y')).toThrow(/must stay on https/);
    expect(redirectTarget('http://127.0.0.1:1/x', 'https://a.example/y')).toBe('https://a.example/y');
    expect(() => redirectTarget('http://127.0.0.1:1/x', 'file:///etc/passwd')).toThrow(/not http/);
  });
});
