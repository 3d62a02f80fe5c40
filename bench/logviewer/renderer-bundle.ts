/** The renderer's start-up cost on the wire: the scripts its index.html loads at start. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** KB (gzipped) of the scripts and module preloads that `rendererDir`/index.html loads at start. */
export async function initialJsGzipKB(rendererDir: string): Promise<number> {
  const html = await readFile(join(rendererDir, 'index.html'), 'utf8');
  const sources = [
    ...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g),
    ...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g),
  ].map((m) => m[1]!);
  let bytes = 0;
  for (const src of new Set(sources)) bytes += gzipSync(await readFile(join(rendererDir, src))).length;
  return bytes / 1024;
}
