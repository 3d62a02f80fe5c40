import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { TSchema, Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import writeFileAtomic from 'write-file-atomic';
import { isMissing } from '../../system/host-root.js';
import type { Logger } from '../../log.js';

/**
 * Each owner's repository files: `<state>/repositories/<uid>/<name>.json`, the folders 0700 and the
 * files 0600, root's (they hold tokens and private keys). Writes are atomic (write-file-atomic:
 * a temporary file, fsync, rename), so a crash leaves the old file or the new one, never half.
 * Writes for one owner are serialised, so two requests never lose each other's change.
 */
export class OwnerFiles {
  private readonly queues = new Map<number, Promise<unknown>>();

  constructor(
    /** `<state>/repositories` */
    readonly root: string,
    private readonly log: Logger,
  ) {}

  dirOf(uid: number): string {
    if (!Number.isSafeInteger(uid) || uid < 0) throw new Error(`not a uid: ${uid}`);
    return join(this.root, String(uid));
  }

  /** The file's contents checked against `schema`; `fallback` when absent. A file that fails is kept aside. */
  async read<S extends TSchema>(uid: number, name: string, schema: S, fallback: Static<S>): Promise<Static<S>> {
    const file = join(this.dirOf(uid), `${name}.json`);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (isMissing(error)) return fallback;
      throw error;
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (Value.Check(schema, parsed)) return parsed;
      throw new Error([...Value.Errors(schema, parsed)][0]?.message ?? 'invalid');
    } catch (error) {
      const aside = `${file}.invalid-${Date.now()}`;
      await rename(file, aside);
      // The reason only: the file may hold secrets.
      this.log.error(
        { file, keptAs: aside, reason: (error as Error).message },
        'repository file is invalid; kept aside',
      );
      return fallback;
    }
  }

  async write(uid: number, name: string, value: unknown): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    await mkdir(this.dirOf(uid), { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(this.dirOf(uid), `${name}.json`), `${JSON.stringify(value, null, 2)}\n`, {
      mode: 0o600,
    });
  }

  /** Runs `task` after every earlier task of this owner finished (read-modify-write without lost updates). */
  exclusive<T>(uid: number, task: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(uid) ?? Promise.resolve();
    const next = previous.then(task, task);
    const settled = next.catch(() => undefined);
    this.queues.set(uid, settled);
    void settled.then(() => {
      if (this.queues.get(uid) === settled) this.queues.delete(uid);
    });
    return next;
  }
}
