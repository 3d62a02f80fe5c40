import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScratchArea } from '../src/repositories/check/scratch.js';
import { lookupUser } from '../src/system/passwd.js';
import { ensureTestGitUser, TEST_GIT_USER } from './support/hearthd-process.js';
import { NEEDS_ROOT, skipWhen } from './support/skip.js';

const run = promisify(execFile);

/**
 * The access check's scratch HOME: complete before the git user gets it, and taken back without
 * trusting anything that user put in it (a link is never followed, a locked directory is no
 * obstacle), so removing it can touch nothing outside.
 */
describe('scratch directories for access checks', skipWhen(NEEDS_ROOT), () => {
  let root: string;
  let user: { name: string; uid: number; gid: number };
  const asGitUser = (script: string) =>
    run('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', 'sh', '-c', script]);

  beforeAll(async () => {
    ensureTestGitUser();
    user = (await lookupUser(TEST_GIT_USER))!;
    root = await mkdtemp(join(tmpdir(), 'scratch-'));
    await chmod(root, 0o711);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('hands over a finished directory and takes it back without following what the git user left', async () => {
    const outside = join(root, 'outside');
    await writeFile(outside, 'keep', { mode: 0o644 });
    await chown(outside, 4321, 4321); // a followed link would make it root's
    const area = new ScratchArea(join(root, 'git-check'), user);
    const scratch = await area.create((dir) => [
      { path: '.ssh/config', content: `IdentityFile ${dir}/.ssh/id\n` },
      { path: '.ssh/id', content: 'key' },
    ]);
    const owned = async (path: string) => {
      const s = await stat(path);
      return [s.uid, s.mode & 0o777];
    };
    expect(await owned(join(root, 'git-check'))).toEqual([0, 0o711]);
    expect(await owned(scratch.dir)).toEqual([user.uid, 0o700]);
    expect(await owned(join(scratch.dir, '.ssh'))).toEqual([user.uid, 0o700]);
    expect(await owned(join(scratch.dir, '.ssh/id'))).toEqual([user.uid, 0o600]);
    expect(await readFile(join(scratch.dir, '.ssh/config'), 'utf8')).toBe(`IdentityFile ${scratch.dir}/.ssh/id\n`);

    // What a hostile git or ssh could leave: a link out, a directory nobody may enter.
    await asGitUser(
      `ln -s ${outside} ${scratch.dir}/evil && ln -s ${root} ${scratch.dir}/up && mkdir ${scratch.dir}/locked && touch ${scratch.dir}/locked/f && chmod 000 ${scratch.dir}/locked`,
    );
    await scratch.remove();
    expect(await readdir(join(root, 'git-check'))).toEqual([]);
    expect(await owned(outside)).toEqual([4321, 0o644]);
    expect(await owned(root)).toEqual([0, 0o711]);
    expect(await readFile(outside, 'utf8')).toBe('keep');
  });

  it('removes what a check interrupted by a crash left behind', async () => {
    const area = new ScratchArea(join(root, 'git-check'), user);
    await area.create(() => [{ path: 'ca.pem', content: 'x' }]);
    await mkdir(join(root, 'git-check', 'not-ours'));
    await area.sweep();
    expect(await readdir(join(root, 'git-check'))).toEqual(['not-ours']);
  });
});
