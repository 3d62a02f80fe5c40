import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { fetch } from 'undici';
import type { PinnedFile } from './release.js';

export class DownloadError extends Error {}

/** A download that stops sending for this long is abandoned (the whole file is fetched again). */
const STALL_MS = 60_000;

export interface Downloaded {
  url: string;
  sha256: string;
  size: number;
}

/**
 * Fetches `file` into `dest` (a new file in a root-only staging directory), trying its URLs in
 * order. The body is hashed as it is written and never allowed past the pinned size, so a
 * hostile or broken server can neither fill the disk nor hand over other bytes unnoticed; the
 * caller compares the digest with the pin. Redirects are followed (GitHub's assets live behind
 * one): the digest, not the URL, is what is trusted.
 */
export async function download(
  file: PinnedFile,
  urls: readonly string[],
  dest: string,
  progress: (percent: number, message: string) => void,
): Promise<Downloaded> {
  const failures: string[] = [];
  for (const url of urls) {
    try {
      return await downloadOne(url, file.size, dest, progress);
    } catch (error) {
      failures.push(`${url}: ${(error as Error).message}`);
    }
  }
  throw new DownloadError(`could not download ${file.name}: ${failures.join('; ')}`);
}

async function downloadOne(
  url: string,
  limit: number,
  dest: string,
  progress: (percent: number, message: string) => void,
): Promise<Downloaded> {
  const controller = new AbortController();
  let stall = setTimeout(() => controller.abort(new Error('stalled')), STALL_MS);
  const handle = await open(dest, 'w', 0o600);
  try {
    const response = await fetch(url, { signal: controller.signal, redirect: 'follow' });
    if (response.status !== 200 || !response.body) throw new DownloadError(`HTTP ${response.status}`);
    const announced = Number(response.headers.get('content-length') ?? NaN);
    if (announced > limit) throw new DownloadError(`it is ${announced} bytes, more than the pinned ${limit}`);
    const hash = createHash('sha256');
    let size = 0;
    let shown = -1;
    for await (const chunk of response.body) {
      const bytes = chunk as Uint8Array;
      size += bytes.length;
      if (size > limit) throw new DownloadError(`it is more than the pinned ${limit} bytes`);
      hash.update(bytes);
      await handle.write(bytes);
      clearTimeout(stall);
      stall = setTimeout(() => controller.abort(new Error('stalled')), STALL_MS);
      const percent = Math.floor((size / limit) * 100);
      if (percent !== shown) {
        shown = percent;
        progress(Math.min(percent, 100), `${(size / 1048576).toFixed(1)} of ${(limit / 1048576).toFixed(1)} MiB`);
      }
    }
    if (Number.isFinite(announced) && size !== announced)
      throw new DownloadError(`the connection ended after ${size} of ${announced} bytes`);
    await handle.sync();
    return { url, sha256: hash.digest('hex'), size };
  } finally {
    clearTimeout(stall);
    await handle.close();
  }
}
