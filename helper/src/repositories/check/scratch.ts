import { chmod, lchown, lstat, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { GitUser } from './git-user.js';

export interface ScratchFile {
  /** Relative to the scratch directory; `.ssh/…` lands in the directory ssh reads. */
  path: string;
  content: string;
}

export interface Scratch {
  /** The directory, HOME of the run: owned by the git user, 0700. */
  dir: string;
  /** Takes the directory back and removes it with everything in it. */
  remove(): Promise<void>;
}

/**
 * Fresh directories for one check each, below `<state>/git-check/` (root's, 0711: the git user
 * may pass through, not list). hearthd writes every file first, as root, then hands files and
 * directory to the git user; it never writes into a directory that user owns. To remove one, it
 * takes the directory back (chown to itself) before looking inside, so nothing the git user could
 * still change is followed: every entry is lchown'd, never a link target.
 */
export class ScratchArea {
  constructor(
    private readonly root: string,
    private readonly user: GitUser | undefined,
  ) {}

  /** Removes what a check interrupted by a crash left behind (at start, before any check runs). */
  async sweep(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch {
      return;
    }
    for (const name of names) if (name.startsWith('check-')) await this.reclaim(join(this.root, name));
  }

  /** `filesFor` is given the directory's path (ssh's config names its files by absolute path). */
  async create(filesFor: (dir: string) => ScratchFile[]): Promise<Scratch> {
    await mkdir(this.root, { recursive: true, mode: 0o711 });
    await chmod(this.root, 0o711);
    const dir = await mkdtemp(join(this.root, 'check-'));
    try {
      await chmod(dir, 0o700);
      for (const file of filesFor(dir)) {
        const path = join(dir, file.path);
        if (!path.startsWith(`${dir}/`)) throw new Error(`scratch file outside its directory: ${file.path}`);
        await mkdir(dirname(path), { recursive: true, mode: 0o700 });
        await writeFile(path, file.content, { mode: 0o600, flag: 'wx' });
      }
      if (this.user) await this.handOver(dir, this.user);
    } catch (error) {
      await this.reclaim(dir).catch(() => undefined);
      throw error;
    }
    return { dir, remove: () => this.reclaim(dir) };
  }

  /** Deepest first, the directory itself last: the git user gets nothing before it is complete. */
  private async handOver(dir: string, user: GitUser): Promise<void> {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await this.handOver(path, user);
      else await lchown(path, user.uid, user.gid);
    }
    await lchown(dir, user.uid, user.gid);
  }

  private async reclaim(dir: string): Promise<void> {
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    if (this.user) await takeBack(dir, uid, gid);
    await rm(dir, { recursive: true, force: true });
  }
}

/** hearthd has no DAC_OVERRIDE: it owns each directory again (0700) before it reads or empties it. */
async function takeBack(path: string, uid: number, gid: number): Promise<void> {
  await lchown(path, uid, gid);
  const stats = await lstat(path);
  if (!stats.isDirectory()) return;
  await chmod(path, 0o700);
  for (const name of await readdir(path)) await takeBack(join(path, name), uid, gid);
}
