import { chmod, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Type } from '@sinclair/typebox';
import writeFileAtomic from 'write-file-atomic';
import { isMissing } from '../../system/host-root.js';
import { compileValidator } from '../../validate.js';

const isTimes = compileValidator(Type.Record(Type.String({ maxLength: 64 }), Type.Integer({ minimum: 0 })));

/**
 * When the newest checksum list hearthd accepted for each catalog entry was signed (seconds
 * since the epoch, from gpgv): a validly signed list older than that is a rollback to a build
 * the publisher has replaced, and is refused. Kept in a root-only file of its own
 * (`<images>/.catalog/signed-times.json`), apart from the image, so deleting an image does not
 * reopen the door to older builds.
 */
export class SignedTimes {
  constructor(private readonly file: string) {}

  async get(name: string): Promise<number | undefined> {
    return (await this.read())[name];
  }

  /** Raises the mark for `name` to `signedAt` (never lowers it). */
  async record(name: string, signedAt: number): Promise<void> {
    const times = await this.read();
    if ((times[name] ?? -1) >= signedAt) return;
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    await chmod(dirname(this.file), 0o700);
    await writeFileAtomic(this.file, JSON.stringify({ ...times, [name]: signedAt }), { mode: 0o600 });
  }

  private async read(): Promise<Record<string, number>> {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(this.file, 'utf8'));
    } catch (error) {
      if (isMissing(error)) return {};
      throw error; // unreadable or not JSON: refuse downloads rather than forget the marks
    }
    if (!isTimes(raw)) throw new Error(`${this.file} is not a record of signing times`);
    return raw;
  }
}
