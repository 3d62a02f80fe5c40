import { chmod, mkdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InstallRun } from '#protocol';
import { AppCore } from '../src/core/app-core.js';
import { cliStatus, findOnPath } from '../src/core/cli-status.js';
import { DirectRunner } from '../src/core/installer.js';
import { seedScratchRoot } from './support/scratch-root.js';
import { skipWhen } from '../../helper/test/support/skip.js';

/**
 * Settings → Command line, main's side: what getCliStatus finds on disk, and "Install the hearth
 * command" as the app runs it — runInstaller link-cli through the Installer and the real
 * hearth-install.sh (DirectRunner: the tests run as root) into a scratch root.
 */
const repo = join(import.meta.dirname, '..', '..');
const NEEDS_ROOT =
  process.getuid?.() === 0 ? undefined : 'the install script makes root-owned files: run the tests as root (CI does)';

describe('getCliStatus and link-cli through the app', skipWhen(NEEDS_ROOT), () => {
  let root: string;
  let core: AppCore;
  const runs: InstallRun[] = [];

  beforeAll(async () => {
    root = await seedScratchRoot('hearth-cli-status-');
    await mkdir(join(root, 'usr/local/bin'), { recursive: true, mode: 0o755 });
    core = new AppCore({
      shell: 'browser',
      appVersion: '0.1.0',
      socketPath: join(root, 'none.sock'),
      installScript: join(repo, 'assets/linux/hearth-install.sh'),
      runner: new DirectRunner(),
      installOverrides: {
        root,
        user: 'alice',
        hearthd: join(repo, 'dist/helper/hearthd.mjs'),
        node: process.execPath,
        cli: join(repo, 'dist/cli/hearth.cjs'),
      },
      cli: { offerLink: true, root },
      autostart: null,
      trayAvailable: () => false,
      copyText: () => Promise.resolve(),
      emit: (name, payload) => {
        if (name === 'install') runs.push(payload as InstallRun);
      },
    });
  });
  afterAll(async () => {
    await core.stop();
    await rm(root, { recursive: true, force: true });
  });

  const ctx = { owner: 'test' };
  const finished = async (action: InstallRun['action']) => {
    for (let i = 0; i < 600; i += 1) {
      const last = runs.at(-1);
      if (last?.action === action && last.state !== 'running') return last;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the ${action} run did not finish: ${JSON.stringify(runs.at(-1))}`);
  };

  it('before the helper: not installed, nothing offered', async () => {
    expect(await core.handlers.getCliStatus({}, ctx)).toEqual({
      command: null,
      target: null,
      installedPath: '/usr/lib/hearth/hearth',
      installed: false,
      linkPath: '/usr/local/bin/hearth',
      canLink: false,
      usage: 'hearth --help',
    });
  });

  it('after Install helper: installed, not on PATH, the link offered; link-cli makes it and it is found', async () => {
    await core.handlers.runInstaller({ action: 'install' }, ctx);
    expect((await finished('install')).state).toBe('succeeded');
    expect(await core.handlers.getCliStatus({}, ctx)).toMatchObject({ command: null, installed: true, canLink: true });

    const started = await core.handlers.runInstaller({ action: 'link-cli' }, ctx);
    expect(started.steps.map((s) => s.id)).toEqual(['authorize', 'link']);
    const run = await finished('link-cli');
    expect(run.error).toBeUndefined();
    expect(run.steps.map((s) => [s.id, s.state])).toEqual([
      ['authorize', 'changed'],
      ['link', 'changed'],
    ]);
    expect(await readlink(join(root, 'usr/local/bin/hearth'))).toBe('/usr/lib/hearth/hearth');
    expect(await core.handlers.getCliStatus({}, ctx)).toMatchObject({
      command: '/usr/local/bin/hearth',
      target: '/usr/lib/hearth/hearth',
      installed: true,
      canLink: false,
    });

    await core.handlers.runInstaller({ action: 'unlink-cli' }, ctx);
    expect((await finished('unlink-cli')).state).toBe('succeeded');
    expect(await core.handlers.getCliStatus({}, ctx)).toMatchObject({ command: null, canLink: true });
  });

  it('offers nothing when another file holds the link path, and a failed link-cli says why', async () => {
    await writeFile(join(root, 'usr/local/bin/hearth'), 'not ours\n', { mode: 0o644 });
    try {
      // Not executable: a shell would not run it, so it is not "on PATH"; but the path is taken.
      expect(await core.handlers.getCliStatus({}, ctx)).toMatchObject({ command: null, canLink: false });
      await core.handlers.runInstaller({ action: 'link-cli' }, ctx);
      const run = await finished('link-cli');
      expect(run.state).toBe('failed');
      expect(run.error).toMatch(/already exists \(regular file\) and is not Hearth's: refusing to replace it/);
    } finally {
      await rm(join(root, 'usr/local/bin/hearth'));
    }
  });

  it('finds hearth as a shell does: the first executable file in an absolute PATH entry', async () => {
    const dirs = ['a', 'b', 'c'].map((d) => join(root, 'pathtest', d));
    for (const dir of dirs) await mkdir(dir, { recursive: true });
    await writeFile(join(dirs[0]!, 'hearth'), '#!/bin/sh\n', { mode: 0o644 }); // not executable
    await mkdir(join(dirs[1]!, 'hearth')); // a directory
    await writeFile(join(dirs[2]!, 'hearth'), '#!/bin/sh\n');
    await chmod(join(dirs[2]!, 'hearth'), 0o755);
    expect(await findOnPath('hearth', ['relative/dir', '', ...dirs].join(':'))).toBe(join(dirs[2]!, 'hearth'));
    await symlink(join(dirs[2]!, 'hearth'), join(dirs[0]!, 'hearth-link'));
    const status = await cliStatus({ offerLink: true, pathEnv: dirs[0]! });
    expect(status.command).toBeNull();
    expect(await findOnPath('hearth-link', dirs[0]!)).toBe(join(dirs[0]!, 'hearth-link'));
  });
});
