import { constants, type Stats } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/**
 * Read-only view of a machine's filesystem, rooted at `root` ("/" in production). Every probe
 * reads through this, so tests point it at fixture trees of other distros and machines.
 */
export class HostRoot {
  /**
   * @param rootUid whose files count as root's when judging executables: 0, except for fixture
   *   trees a test made as itself (no test can make root-owned files without being root).
   */
  constructor(
    readonly root: string,
    readonly rootUid = 0,
  ) {}

  get isRealRoot(): boolean {
    return this.root === '/';
  }

  resolve(absolutePath: string): string {
    return join(this.root, absolutePath);
  }

  async readText(absolutePath: string): Promise<string | undefined> {
    try {
      const raw = await readFile(this.resolve(absolutePath));
      return absolutePath.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async stat(absolutePath: string): Promise<Stats | undefined> {
    try {
      return await stat(this.resolve(absolutePath));
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async exists(absolutePath: string): Promise<boolean> {
    return (await this.stat(absolutePath)) !== undefined;
  }

  /** Opens read-write and closes at once; returns the errno code on failure. */
  async tryOpenReadWrite(absolutePath: string): Promise<string> {
    try {
      const handle = await open(this.resolve(absolutePath), constants.O_RDWR);
      await handle.close();
      return 'ok';
    } catch (error) {
      return (error as NodeJS.ErrnoException).code ?? 'EIO';
    }
  }
}

export function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
