import { constants } from 'node:fs';
import { open, stat, truncate } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request, type Dispatcher } from 'undici';
import { isMissing } from '../../system/host-root.js';

/** `retry: false`: asking again will not help (a 404, a file over the cap). */
export class FetchError extends Error {
  constructor(
    message: string,
    readonly retry = true,
  ) {
    super(message);
  }
}

/**
 * A slow mirror is waited for, a silent one is not. Redirects are followed by `follow` below,
 * not by undici, so each hop can be judged. `connect`: test-only TLS options (a test CA).
 */
export function catalogDispatcher(connect?: Agent.Options['connect']): Dispatcher {
  return new Agent({ headersTimeout: 30_000, bodyTimeout: 60_000, ...(connect && { connect }) });
}

const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Where a redirect from `from` to `location` leads, if it may be followed: image sites redirect
 * to mirrors, but a redirect never leaves https once there (a downgrade would let anyone on the
 * path answer), and never leaves http(s).
 */
export function redirectTarget(from: string, location: string): string {
  const next = new URL(location, from);
  if (new URL(from).protocol === 'https:' && next.protocol !== 'https:')
    throw new FetchError(`${from} redirects to ${next.href}: a redirect from https must stay on https`, false);
  if (next.protocol !== 'https:' && next.protocol !== 'http:')
    throw new FetchError(`${from} redirects to ${next.href}, which is not http(s)`, false);
  return next.href;
}

/** A request that follows redirects (at most five) by `redirectTarget`'s rule; the answer and where it came from. */
async function follow(
  dispatcher: Dispatcher,
  url: string,
  options: { signal: AbortSignal; headers?: Record<string, string> },
): Promise<Dispatcher.ResponseData> {
  let current = url;
  for (let hop = 0; ; hop += 1) {
    const response = await request(current, { dispatcher, ...options });
    const location = response.headers.location;
    if (!REDIRECTS.has(response.statusCode) || typeof location !== 'string') return response;
    await response.body.dump();
    if (hop === MAX_REDIRECTS) throw new FetchError(`${url} redirects more than ${MAX_REDIRECTS} times`, false);
    current = redirectTarget(current, location);
  }
}

/** Counts bytes as they pass and stops the stream past `limit`. */
function counter(start: number, limit: number, onBytes: (total: number) => void): Transform {
  let total = start;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      total += chunk.length;
      if (total > limit) {
        done(new FetchError(`more than ${limit} bytes`, false));
        return;
      }
      onBytes(total);
      done(null, chunk);
    },
  });
}

/** A small file (a checksum list, a signature), whole, refused past `maxBytes`. */
export async function fetchBounded(
  dispatcher: Dispatcher,
  url: string,
  maxBytes: number,
  signal: AbortSignal,
): Promise<Buffer> {
  const response = await follow(dispatcher, url, { signal });
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw new FetchError(`${url} answered HTTP ${response.statusCode}`, response.statusCode >= 500);
  }
  const chunks: Buffer[] = [];
  try {
    await pipeline(
      response.body,
      counter(0, maxBytes, () => undefined),
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) chunks.push(chunk);
        yield* [];
      },
    );
  } catch (error) {
    if (error instanceof FetchError) throw new FetchError(`${url} is larger than ${maxBytes} bytes`, false);
    throw error;
  }
  return Buffer.concat(chunks);
}

export interface ResumableDownload {
  url: string;
  /** Bytes already here are kept and asked for no more (`Range`); root-only. */
  file: string;
  maxBytes: number;
  /** Sent as If-Range: when the file changed since, the server answers with all of it. */
  validator: string | null;
  onValidator: (validator: string | null) => Promise<void>;
  onProgress: (received: number, total: number | null) => void;
  signal: AbortSignal;
}

const ATTEMPTS = 6;

async function sizeOf(file: string): Promise<number> {
  return stat(file).then(
    (s) => s.size,
    (error: unknown) => {
      if (isMissing(error)) return 0;
      throw error;
    },
  );
}

/** `bytes 100-199/1000` → start and total (null when `*`). */
function contentRange(header: string | string[] | undefined): { start: number; total: number | null } | undefined {
  const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(String(header ?? ''));
  if (!match) return undefined;
  return { start: Number(match[1]), total: match[2] === '*' ? null : Number(match[2]) };
}

/**
 * Downloads `url` into `file`, continuing from what the file holds: after a cut connection it
 * asks again from where it stopped (a few times, with a pause), and a later call — after a
 * hearthd restart — does the same. It only ever appends; whether the bytes are the right ones
 * is the caller's checksum to decide.
 */
export async function downloadResumable(dispatcher: Dispatcher, job: ResumableDownload): Promise<number> {
  let validator = job.validator;
  let lastError: unknown;
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    if (attempt > 0) await sleep(Math.min(500 * 2 ** attempt, 8_000), undefined, { signal: job.signal });
    let have = await sizeOf(job.file);
    const headers: Record<string, string> = {};
    if (have > 0) {
      headers.range = `bytes=${have}-`;
      if (validator) headers['if-range'] = validator;
    }
    let total: number | null = null;
    try {
      const response = await follow(dispatcher, job.url, { signal: job.signal, headers });
      const { statusCode } = response;
      if (statusCode === 416) {
        await response.body.dump();
        const range = /\/(\d+)$/.exec(String(response.headers['content-range'] ?? ''));
        if (range && Number(range[1]) === have) return have;
        // The server's file is shorter than ours: ours is of another build; start over.
        await truncate(job.file, 0);
        throw new FetchError(`${job.url}: the partial download does not fit the file on the server`);
      }
      if (statusCode !== 200 && statusCode !== 206) {
        await response.body.dump();
        throw new FetchError(`${job.url} answered HTTP ${statusCode}`, statusCode >= 500 || statusCode === 429);
      }
      const range = statusCode === 206 ? contentRange(response.headers['content-range']) : undefined;
      if (statusCode === 206 && range?.start !== have) {
        await response.body.dump();
        await truncate(job.file, 0);
        throw new FetchError(`${job.url} answered a range that does not start at byte ${have}`);
      }
      if (statusCode === 200) {
        // All of it again: the server ignored the range, or the file changed (If-Range).
        have = 0;
        await truncate(job.file, 0).catch((error: unknown) => {
          if (!isMissing(error)) throw error;
        });
        const length = Number(response.headers['content-length'] ?? NaN);
        total = Number.isFinite(length) ? length : null;
      } else total = range?.total ?? null;
      if (total !== null && total > job.maxBytes) {
        await response.body.dump();
        throw new FetchError(`${job.url} is ${total} bytes, more than the ${job.maxBytes} allowed`, false);
      }
      const etag = response.headers.etag;
      const modified = response.headers['last-modified'];
      const next =
        typeof etag === 'string' && !etag.startsWith('W/') ? etag : typeof modified === 'string' ? modified : null;
      if (next !== validator) await job.onValidator((validator = next));
      job.onProgress(have, total);
      const out = await open(
        job.file,
        constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW,
        0o600,
      );
      await pipeline(
        response.body,
        counter(have, job.maxBytes, (received) => job.onProgress(received, total)),
        out.createWriteStream(),
      );
      const size = await sizeOf(job.file);
      if (total === null || size === total) return size;
      lastError = new FetchError(`${job.url} ended after ${size} of ${total} bytes`);
    } catch (error) {
      if (job.signal.aborted) throw error;
      if (error instanceof FetchError && !error.retry) throw error;
      lastError = error;
    }
  }
  throw lastError instanceof Error ? lastError : new FetchError(String(lastError));
}
