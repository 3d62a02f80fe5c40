import { chmod, chown, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findInstallScript, trustedForRoot } from '../src/commands/images-build.js';
import { NEEDS_ROOT, skipWhen } from '../../helper/test/support/skip.js';

const NOBODY = 65534;

/**
 * Which install script `hearth images build` may hand to sudo: only a root-owned file whose every
 * directory, after links are resolved, is root's and not writable by anyone else. Real files with
 * real owners and modes (not under /tmp, which anyone may write).
 */
describe('the install script images build runs as root', skipWhen(NEEDS_ROOT), () => {
  let dir: string;
  let script: string;

  beforeAll(async () => {
    dir = await mkdtemp('/var/lib/hearth-cli-build-');
    await chmod(dir, 0o755);
    script = join(dir, 'hearth-install.sh');
    await writeFile(script, '#!/bin/bash\n', { mode: 0o755 });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('trusts a root-owned script in root-owned directories, by its real path', async () => {
    expect(await trustedForRoot(script)).toBe(script);
    expect(await findInstallScript([join(dir, 'missing.sh'), script])).toBe(script);
  });

  it('refuses a script anyone else owns or may write, or one below a writable directory', async () => {
    const theirs = join(dir, 'theirs.sh');
    await writeFile(theirs, '#!/bin/bash\n', { mode: 0o755 });
    await chown(theirs, NOBODY, NOBODY);
    expect(await trustedForRoot(theirs)).toBeNull();
    const writable = join(dir, 'writable.sh');
    await writeFile(writable, '#!/bin/bash\n');
    await chmod(writable, 0o757);
    expect(await trustedForRoot(writable)).toBeNull();
    const open = join(dir, 'open');
    await mkdir(open);
    await chmod(open, 0o777);
    await writeFile(join(open, 'hearth-install.sh'), '#!/bin/bash\n', { mode: 0o755 });
    expect(await trustedForRoot(join(open, 'hearth-install.sh'))).toBeNull();
    expect(await trustedForRoot(join(dir, 'missing.sh'))).toBeNull();
    expect(await findInstallScript([theirs, writable, join(open, 'hearth-install.sh')])).toBeNull();
  });

  it('runs the real path, never a link a user could swap, and never a link to an untrusted file', async () => {
    const open = join(dir, 'links');
    await mkdir(open);
    await chmod(open, 0o777);
    const link = join(open, 'hearth-install.sh');
    await symlink(script, link);
    expect(await findInstallScript([link])).toBe(script);
    const toTmp = join(dir, 'to-tmp.sh');
    const inTmp = await mkdtemp('/tmp/hearth-cli-build-');
    await writeFile(join(inTmp, 'x.sh'), '#!/bin/bash\n', { mode: 0o755 });
    await symlink(join(inTmp, 'x.sh'), toTmp);
    expect(await trustedForRoot(toTmp)).toBeNull(); // /tmp is writable by everyone
    await rm(inTmp, { recursive: true, force: true });
  });
});
