import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { GitUser } from './git-user.js';

/** A repository name as the URLs carry it (the directory is `<name>.git`). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Fixed identities and dates, so the same repository has the same commits (and SHAs) every time. */
const COMMIT_ENV = {
  GIT_AUTHOR_NAME: 'Hearth Test',
  GIT_AUTHOR_EMAIL: 'test@hearth.invalid',
  GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z',
  GIT_COMMITTER_NAME: 'Hearth Test',
  GIT_COMMITTER_EMAIL: 'test@hearth.invalid',
  GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z',
};

/** The file only branch `branch` has, and its content: what a test looks for after a checkout. */
export function onlyOnBranch(branch: string): { file: string; content: string } {
  return { file: `only-on-${branch}.txt`, content: `this file is only on ${branch}\n` };
}

export interface LogEntry {
  sha: string;
  subject: string;
  author: string;
}

/**
 * The bare repositories of one fixture, under `root`, owned by the git user: git runs as that user
 * (the HTTPS backend's CGI and git-shell do too), so a push by either way leaves files the other
 * can write, and git's safe.directory check has nothing to object to.
 */
export class Repositories {
  constructor(
    readonly root: string,
    private readonly scratch: string,
    private readonly user: GitUser,
    private readonly home: string,
  ) {}

  path(name: string): string {
    if (!NAME.test(name)) throw new Error(`not a repository name: ${JSON.stringify(name)}`);
    return join(this.root, `${name}.git`);
  }

  private git(args: string[], cwd: string, env: Record<string, string> = {}) {
    return execa('git', args, {
      cwd,
      uid: this.user.uid,
      gid: this.user.gid,
      env: { PATH: '/usr/bin:/bin', HOME: this.home, GIT_CONFIG_NOSYSTEM: '1', ...env },
      extendEnv: false,
    });
  }

  /**
   * A bare repository whose HEAD is the first branch, with a root commit (a README) that every
   * branch starts from and then one commit per branch adding only its own file, so each branch's
   * file is on that branch alone.
   */
  async create(name: string, branches: readonly string[] = ['main', 'feature']): Promise<void> {
    const [first] = branches;
    if (first === undefined) throw new Error('a repository needs at least one branch');
    const bare = this.path(name);
    await this.git(['init', '--quiet', '--bare', `--initial-branch=${first}`, bare], this.root);
    const work = await mkdtemp(join(this.scratch, `${name}-`));
    try {
      await chown(work, this.user.uid, this.user.gid);
      await this.git(['init', '--quiet', `--initial-branch=${first}`, work], this.scratch);
      const commit = async (message: string, file: string, content: string): Promise<void> => {
        await writeFile(join(work, file), content);
        await this.git(['add', '--', file], work);
        await this.git(['commit', '--quiet', '--no-gpg-sign', '-m', message], work, COMMIT_ENV);
      };
      await commit(`${name}: start`, 'README.md', `# ${name}\n`);
      const root = (await this.git(['rev-parse', 'HEAD'], work)).stdout.trim();
      for (const branch of branches) {
        await this.git(['checkout', '--quiet', '-B', branch, root], work);
        const only = onlyOnBranch(branch);
        await commit(`${name}: ${branch}`, only.file, only.content);
      }
      await this.git(['push', '--quiet', bare, ...branches.map((b) => `refs/heads/${b}:refs/heads/${b}`)], work);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** The commit branch `branch` points at, read in the bare repository. */
  async head(name: string, branch: string): Promise<string> {
    const { stdout } = await this.git(
      ['rev-parse', '--verify', '--end-of-options', `refs/heads/${branch}^{commit}`],
      this.path(name),
    );
    return stdout.trim();
  }

  /** The branch's commits, newest first. */
  async log(name: string, branch: string): Promise<LogEntry[]> {
    const { stdout } = await this.git(
      ['log', '--format=%H%x00%s%x00%an', '--end-of-options', `refs/heads/${branch}`, '--'],
      this.path(name),
    );
    return stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [sha = '', subject = '', author = ''] = line.split('\0');
        return { sha, subject, author };
      });
  }
}
