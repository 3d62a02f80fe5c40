import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from '../log.js';
import type { EventBus } from '../events/event-bus.js';
import type { ImageStore } from './image-store.js';

/** inotify reports each step of an install (staging, manifest, renames): one look after they settle. */
const SETTLE_MS = 200;

/**
 * Announces images that appear, change or go without hearthd's API: `hearthd install-image` and
 * `hearthd build-image` are separate root processes that write the store directly, and a client
 * with the list on screen would otherwise never hear of them. Changes hearthd made itself are
 * announced where they are made (with their progress); the store tells them apart, so none is
 * announced twice.
 */
export class ImageWatcher {
  /** name → installedAt: a reinstall under the same name is a change too. */
  private known = new Map<string, string>();
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Scans run one after another: each compares against the one before. */
  private scanning: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: ImageStore,
    private readonly bus: EventBus,
    private readonly log: Logger,
  ) {}

  async open(): Promise<void> {
    // Only a directory that exists can be watched.
    await this.store.ensureDir();
    this.known = await this.snapshot();
    this.watcher = watch(this.store.dir, { persistent: false }, () => this.schedule());
    this.watcher.on('error', (error) => this.log.warn({ err: error }, 'watching the image store failed'));
  }

  close(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.scanning = this.scanning
        .then(() => this.scan())
        .catch((error: unknown) => {
          this.log.warn({ err: error }, 'reading the image store after a change failed');
        });
    }, SETTLE_MS);
  }

  private async scan(): Promise<void> {
    const now = await this.snapshot();
    const changes: { name: string; change: 'installed' | 'deleted' }[] = [];
    for (const [name, installedAt] of now) {
      if (this.known.get(name) !== installedAt) changes.push({ name, change: 'installed' });
    }
    for (const name of this.known.keys()) if (!now.has(name)) changes.push({ name, change: 'deleted' });
    this.known = now;
    for (const { name, change } of changes) {
      if (this.store.takeOwnChange(name)) continue;
      this.log.info({ image: name, change }, 'image store changed outside the API');
      this.bus.publish({ type: 'image', name, change, progress: null });
    }
  }

  private async snapshot(): Promise<Map<string, string>> {
    return new Map((await this.store.list()).map(({ manifest }) => [manifest.name, manifest.installedAt]));
  }
}
