import { chmod, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import type { Catalog, CatalogEntry, DownloadPhase, DownloadProgress } from '#protocol';
import { DomainError, messageOf } from '../../errors.js';
import type { EventBus } from '../../events/event-bus.js';
import { findExecutable } from '../../system/executables.js';
import type { HostRoot } from '../../system/host-root.js';
import type { Logger } from '../../log.js';
import type { ImageStore } from '../image-store.js';
import { runDownload, partialFiles, readPartialMeta, DownloadRejected } from './download-job.js';
import type { CatalogEntryDefinition } from './entries.js';
import { catalogDispatcher } from './fetcher.js';
import { shippedKeyring } from './keyrings.js';
import { SignedTimes } from './signed-times.js';

/** At most four progress events a second per download; phase changes and the last one always go out. */
const PROGRESS_INTERVAL_MS = 250;

export interface CatalogOptions {
  entries: CatalogEntryDefinition[];
  images: ImageStore;
  bus: EventBus;
  log: Logger;
  host: HostRoot;
  qemuImg: () => Promise<string>;
  /** Test-only (a root flag): one keyring for every entry instead of the shipped ones. */
  keyring?: Buffer | undefined;
  dispatcher?: Dispatcher | undefined;
}

interface Tools {
  gpgv: string;
  qemuImg: string;
  keyring: Buffer;
}

/**
 * The images hearthd can download and verify itself (images/catalog/). One download per name
 * at a time; its progress lives here (for GET /v1/catalog) and goes out as `image` events.
 * Partial files live in `<images>/.downloads/`, root-only, and are never an image.
 */
export class ImageCatalogService {
  private readonly progress = new Map<string, DownloadProgress>();
  private readonly lastEvent = new Map<string, number>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();
  private readonly dispatcher: Dispatcher;
  private readonly signedTimes: SignedTimes;
  readonly downloadsDir: string;

  constructor(private readonly options: CatalogOptions) {
    this.downloadsDir = join(options.images.dir, '.downloads');
    this.dispatcher = options.dispatcher ?? catalogDispatcher();
    this.signedTimes = new SignedTimes(join(options.images.dir, '.catalog', 'signed-times.json'));
  }

  /**
   * Reconciles what a previous run left: gpgv scratch directories go, and a partial download
   * shows as interrupted (`cancelled`) with its bytes, so the next request resumes it.
   */
  async open(): Promise<void> {
    await mkdir(this.downloadsDir, { recursive: true, mode: 0o700 });
    await chmod(this.downloadsDir, 0o700);
    for (const name of await readdir(this.downloadsDir)) {
      if (name.startsWith('.gpgv-')) await rm(join(this.downloadsDir, name), { recursive: true, force: true });
    }
    for (const entry of this.options.entries) {
      const files = partialFiles(this.downloadsDir, entry.name);
      if (!(await readPartialMeta(files.meta))) continue;
      const received = await stat(files.data).then(
        (s) => s.size,
        () => 0,
      );
      this.progress.set(entry.name, {
        phase: 'cancelled',
        receivedBytes: received,
        totalBytes: null,
        message: 'Interrupted when hearthd stopped; download it again to resume',
        updatedAt: new Date().toISOString(),
      });
    }
  }

  async list(): Promise<Catalog> {
    return { entries: await Promise.all(this.options.entries.map((entry) => this.describe(entry))) };
  }

  /**
   * Starts a download in the background and answers at once. A second request for a name being
   * downloaded answers with that download; tools and the installed check are settled first, so
   * what cannot work is refused to the caller rather than reported later.
   */
  async download(name: string): Promise<CatalogEntry> {
    const entry = this.options.entries.find((e) => e.name === name);
    if (!entry) throw new DomainError('not-found', `There is no catalog image "${name}"`, 'GET /v1/catalog lists them');
    if (this.running.has(name)) return this.describe(entry);
    const ready = this.prepare(entry);
    const job = ready
      .then((tools) => this.run(entry, tools))
      .catch(() => undefined)
      .finally(() => this.running.delete(name));
    this.running.set(name, job);
    await ready;
    return this.describe(entry);
  }

  /** Stops running downloads; their partial files stay for the next run to resume. */
  close(): void {
    this.stopping.abort();
  }

  /** Resolves once no download runs (tests, and an orderly stop). */
  async settled(): Promise<void> {
    await Promise.all(this.running.values());
  }

  private async describe(entry: CatalogEntryDefinition): Promise<CatalogEntry> {
    return {
      name: entry.name,
      os: entry.os,
      bootMode: 'firmware',
      provisioning: 'cloud-init',
      source: new URL(entry.sumsFile, entry.baseUrl).href,
      installed: (await this.options.images.get(entry.name)) !== undefined,
      download: this.progress.get(entry.name) ?? null,
    };
  }

  private async prepare(entry: CatalogEntryDefinition): Promise<Tools> {
    if (await this.options.images.get(entry.name))
      throw new DomainError(
        'conflict',
        `Image "${entry.name}" is installed`,
        `to fetch the current release, delete it first (DELETE /v1/images/${entry.name}), then download it again`,
      );
    const gpgv = await findExecutable(this.options.host, 'gpgv');
    if (!gpgv.found)
      throw new DomainError(
        'unavailable',
        'gpgv is not installed: hearthd checks catalog signatures with it',
        'Debian/Ubuntu: apt-get install gpgv; Fedora: dnf install gnupg2',
      );
    return {
      gpgv: gpgv.executable.hostPath,
      qemuImg: await this.options.qemuImg(),
      keyring: this.options.keyring ?? (await shippedKeyring(entry.keyring)),
    };
  }

  private async run(entry: CatalogEntryDefinition, tools: Tools): Promise<void> {
    const { log, bus } = this.options;
    const signal = this.stopping.signal;
    const report = (phase: DownloadPhase, message: string, received = 0, total: number | null = null) => {
      const previous = this.progress.get(entry.name);
      const progress = {
        phase,
        receivedBytes: received,
        totalBytes: total,
        message,
        updatedAt: new Date().toISOString(),
      };
      this.progress.set(entry.name, progress);
      const now = Date.now();
      const due = now - (this.lastEvent.get(entry.name) ?? 0) >= PROGRESS_INTERVAL_MS;
      const done = total !== null && received === total;
      if (previous?.phase !== phase || due || done) {
        this.lastEvent.set(entry.name, now);
        bus.publish({ type: 'image', name: entry.name, change: 'progress', progress });
      }
    };
    log.info({ image: entry.name, source: entry.baseUrl }, 'catalog download started');
    try {
      await runDownload({
        entry,
        downloadsDir: this.downloadsDir,
        dispatcher: this.dispatcher,
        ...tools,
        images: this.options.images,
        signedTimes: this.signedTimes,
        signal,
        report,
      });
      const last = this.progress.get(entry.name)!;
      const progress = {
        ...last,
        phase: 'installed' as const,
        message: `Installed ${entry.name}`,
        updatedAt: new Date().toISOString(),
      };
      this.progress.set(entry.name, progress);
      bus.publish({ type: 'image', name: entry.name, change: 'installed', progress });
      log.info({ image: entry.name }, 'catalog image installed');
    } catch (error) {
      const last = this.progress.get(entry.name);
      const stopped = signal.aborted;
      const message = stopped
        ? 'Interrupted when hearthd stopped; download it again to resume'
        : error instanceof DownloadRejected
          ? error.message
          : `The download of ${entry.name} failed: ${messageOf(error)}`;
      const progress = {
        phase: stopped ? ('cancelled' as const) : ('failed' as const),
        receivedBytes: last?.receivedBytes ?? 0,
        totalBytes: last?.totalBytes ?? null,
        message: message.slice(0, 1000),
        updatedAt: new Date().toISOString(),
      };
      this.progress.set(entry.name, progress);
      if (stopped) return;
      bus.publish({ type: 'image', name: entry.name, change: 'failed', progress });
      log.warn({ image: entry.name, reason: progress.message }, 'catalog download failed');
    }
  }
}
