import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Dispatcher } from 'undici';
import writeFileAtomic from 'write-file-atomic';
import type { DownloadPhase } from '#protocol';
import { isMissing } from '../../system/host-root.js';
import type { ImageStore } from '../image-store.js';
import { checksumFor } from './checksums.js';
import type { CatalogEntryDefinition } from './entries.js';
import { downloadResumable, fetchBounded } from './fetcher.js';
import { SignatureError, verifyDetached } from './signature.js';
import type { SignedTimes } from './signed-times.js';

/** A checksum list is a few lines per image; anything near this is not one. */
export const MAX_SUMS_BYTES = 1 << 20;
const MAX_SIGNATURE_BYTES = 64 << 10;
/** Cloud images are well under 1 GiB compressed; this bounds what a broken mirror can fill. */
export const MAX_IMAGE_BYTES = 8 * 1024 ** 3;

/** `<downloads>/<name>.partial.json`: what the partial file is meant to become, for resuming it. */
const PartialMeta = Type.Object(
  {
    url: Type.String({ maxLength: 2048 }),
    checksum: Type.String({ pattern: '^[0-9a-f]{64}([0-9a-f]{64})?$' }),
    validator: Type.Union([Type.String({ maxLength: 200 }), Type.Null()]),
  },
  { additionalProperties: false },
);
type PartialMeta = Static<typeof PartialMeta>;

/** A download ends with this when what arrived is not what was signed for. */
export class DownloadRejected extends Error {}

export interface JobContext {
  entry: CatalogEntryDefinition;
  downloadsDir: string;
  dispatcher: Dispatcher;
  gpgv: string;
  qemuImg: string;
  keyring: Buffer;
  images: ImageStore;
  /** When the newest list accepted for each entry was signed: an older one is a rollback. */
  signedTimes: SignedTimes;
  signal: AbortSignal;
  report: (phase: DownloadPhase, message: string, received?: number, total?: number | null) => void;
}

export function partialFiles(downloadsDir: string, name: string): { data: string; meta: string } {
  return { data: join(downloadsDir, `${name}.partial`), meta: join(downloadsDir, `${name}.partial.json`) };
}

export async function readPartialMeta(file: string): Promise<PartialMeta | undefined> {
  try {
    const meta: unknown = JSON.parse(await readFile(file, 'utf8'));
    return Value.Check(PartialMeta, meta) ? meta : undefined;
  } catch (error) {
    if (isMissing(error) || error instanceof SyntaxError) return undefined;
    throw error;
  }
}

async function digestOf(file: string, hash: 'sha256' | 'sha512', signal: AbortSignal): Promise<string> {
  const digest = createHash(hash);
  await pipeline(createReadStream(file), digest, { signal });
  return digest.digest('hex');
}

const isoTime = (seconds: number) => new Date(seconds * 1000).toISOString();

/** Fetches the signed checksum list, checks its signature, and returns the image's checksum. */
async function resolve(job: JobContext): Promise<string> {
  const { entry } = job;
  const url = (file: string) => new URL(file, entry.baseUrl).href;
  job.report('resolving', `Fetching ${url(entry.sumsFile)} and its signature`);
  const [sums, signature] = await Promise.all([
    fetchBounded(job.dispatcher, url(entry.sumsFile), MAX_SUMS_BYTES, job.signal),
    fetchBounded(job.dispatcher, url(entry.signatureFile), MAX_SIGNATURE_BYTES, job.signal),
  ]);
  let signedAt: number;
  try {
    ({ signedAt } = await verifyDetached(job.gpgv, job.downloadsDir, job.keyring, sums, signature));
  } catch (error) {
    if (!(error instanceof SignatureError)) throw error;
    throw new DownloadRejected(
      `The signature on ${entry.sumsFile} is not valid: ${error.message}. Nothing was downloaded or installed`,
    );
  }
  const newest = await job.signedTimes.get(entry.name);
  if (newest !== undefined && signedAt < newest)
    throw new DownloadRejected(
      `The signed ${entry.sumsFile} is older (signed ${isoTime(signedAt)}) than the one hearthd last accepted ` +
        `(signed ${isoTime(newest)}): refused as a rollback to a replaced build. Nothing was downloaded or installed`,
    );
  // Recorded before any byte of the image: from now on nothing older is accepted, whatever follows.
  await job.signedTimes.record(entry.name, signedAt);
  // Only the bytes gpgv just accepted are read for the checksum.
  const checksum = checksumFor(sums.toString('utf8'), entry.imageFile, entry.hash);
  if (checksum === undefined)
    throw new DownloadRejected(`The signed ${entry.sumsFile} lists no ${entry.imageFile}; nothing was installed`);
  return checksum;
}

/**
 * One catalog download, start to end: the signed checksum, the bytes (resumed when a partial
 * file for the same checksum exists), the checksum over the whole file, then the install.
 * Nothing reaches the image store before the checksum matched.
 */
export async function runDownload(job: JobContext): Promise<void> {
  const { entry } = job;
  const files = partialFiles(job.downloadsDir, entry.name);
  const checksum = await resolve(job);
  const url = new URL(entry.imageFile, entry.baseUrl).href;

  // A partial file of another build (a newer serial since) is worth nothing.
  let meta = await readPartialMeta(files.meta);
  if (meta?.checksum !== checksum || meta.url !== url) {
    await rm(files.data, { force: true });
    meta = { url, checksum, validator: null };
    await writeFileAtomic(files.meta, JSON.stringify(meta), { mode: 0o600 });
  }
  const saved = meta;
  job.report('downloading', `Downloading ${url}`);
  const size = await downloadResumable(job.dispatcher, {
    url,
    file: files.data,
    maxBytes: MAX_IMAGE_BYTES,
    validator: saved.validator,
    onValidator: (validator) => writeFileAtomic(files.meta, JSON.stringify({ ...saved, validator }), { mode: 0o600 }),
    onProgress: (received, total) => job.report('downloading', `Downloading ${url}`, received, total),
    signal: job.signal,
  });

  job.report('verifying', `Checking the ${entry.hash} checksum of ${entry.imageFile}`, size, size);
  const actual = await digestOf(files.data, entry.hash, job.signal);
  if (actual !== checksum) {
    await rm(files.data, { force: true });
    await rm(files.meta, { force: true });
    throw new DownloadRejected(
      `Checksum mismatch: ${entry.imageFile} has ${entry.hash} ${actual}, the signed ${entry.sumsFile} says ${checksum}. ` +
        'The download was discarded and nothing was installed',
    );
  }

  job.report('installing', `Installing ${entry.name}`, size, size);
  await job.images.installDownloaded({ name: entry.name, os: entry.os, disk: files.data, qemuImg: job.qemuImg });
  await rm(files.data, { force: true });
  await rm(files.meta, { force: true });
}
