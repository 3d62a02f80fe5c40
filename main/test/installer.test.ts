import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InstallRun } from '#protocol';
import { ConnectionManager } from '../src/core/connection.js';
import { seedScratchRoot } from './support/scratch-root.js';
import { applyInstallerLine, failRun, newRun, planInstall } from '../src/core/installer-plan.js';
import { DirectRunner, Installer, readInstalledVersion, SudoPromptRunner } from '../src/core/installer.js';
import { NEEDS_ROOT, skipWhen } from '../../helper/test/support/skip.js';

const repo = join(import.meta.dirname, '..', '..');
const ids = (run: { steps: Array<{ id: string }> }) => run.steps.map((s) => s.id);

describe('planInstall', () => {
  it('plans a first install', () => {
    const plan = planInstall({ action: 'install' }, { installedVersion: null, bundledVersion: '0.2.0' });
    expect(plan.kind).toBe('install');
    expect(ids(plan)).toEqual([
      'authorize',
      'preflight',
      'users',
      'files',
      'unit',
      'runtime',
      'access',
      'service',
      'socket',
      'verify',
    ]);
    expect(plan.steps.every((s) => s.state === 'pending')).toBe(true);
    expect(plan.args).toEqual(['install', '--version', '0.2.0']);
  });

  it('plans an upgrade when the app ships a newer hearthd, and a repair otherwise', () => {
    const upgrade = planInstall({ action: 'install' }, { installedVersion: '0.1.0', bundledVersion: '0.10.0' });
    expect(upgrade.kind).toBe('upgrade');
    expect(upgrade.steps.find((s) => s.id === 'files')?.title).toBe('Replace hearthd 0.1.0 with 0.10.0');
    expect(upgrade.steps.find((s) => s.id === 'service')?.title).toContain('environments keep running');
    expect(planInstall({ action: 'install' }, { installedVersion: '0.2.0', bundledVersion: '0.2.0' }).kind).toBe(
      'repair',
    );
    expect(planInstall({ action: 'install' }, { installedVersion: '0.3.0', bundledVersion: '0.2.0' }).kind).toBe(
      'repair',
    );
  });

  it('plans an uninstall, keeping data unless purge', () => {
    const keep = planInstall({ action: 'uninstall' }, { installedVersion: '0.2.0', bundledVersion: '0.2.0' });
    expect(ids(keep)).toEqual(['authorize', 'stop', 'network', 'service', 'files', 'users', 'data']);
    expect(keep.args).toEqual(['uninstall']);
    expect(keep.steps.at(-1)?.title).toBe('Keep environments, images and settings');
    const purge = planInstall(
      { action: 'uninstall', purge: true },
      { installedVersion: null, bundledVersion: '0.2.0' },
    );
    expect(purge.args).toEqual(['uninstall', '--purge']);
    expect(purge.steps.at(-1)?.title).toBe('Delete environments, images and settings');
  });

  it('plans the local image build and the Cloud Hypervisor install as their own jobs under the one prompt', () => {
    const facts = { installedVersion: '0.2.0', bundledVersion: '0.2.0', progressFile: '/tmp/p' };
    const build = planInstall({ action: 'build-image' }, facts);
    expect(ids(build)).toEqual(['authorize', 'bootstrap', 'packages', 'agent', 'disk', 'import']);
    expect(build.args).toEqual(['build-image', '--progress', '/tmp/p']);
    const vmm = planInstall({ action: 'install-cloud-hypervisor' }, facts);
    expect(ids(vmm)).toEqual(['authorize', 'download', 'verify-digest', 'firmware', 'install-vmm']);
    expect(vmm.args).toEqual(['install-cloud-hypervisor', '--progress', '/tmp/p']);
    // Neither restarts hearthd, so neither waits for it to answer with a version.
    expect(ids(build)).not.toContain('verify');
  });

  it('passes development overrides through', () => {
    const plan = planInstall(
      { action: 'install' },
      {
        installedVersion: null,
        bundledVersion: '1.0.0',
        root: '/tmp/r',
        progressFile: '/tmp/p',
        user: 'alice',
        hearthd: '/b/h.mjs',
        node: '/b/node',
      },
    );
    expect(plan.args).toEqual([
      'install',
      '--version',
      '1.0.0',
      '--root',
      '/tmp/r',
      '--progress',
      '/tmp/p',
      '--user',
      'alice',
      '--hearthd',
      '/b/h.mjs',
      '--node',
      '/b/node',
    ]);
  });
});

describe('applyInstallerLine', () => {
  const start = () =>
    newRun(planInstall({ action: 'install' }, { installedVersion: null, bundledVersion: '1.0.0' }), 'install', 0);
  const state = (run: InstallRun, id: string) => run.steps.find((s) => s.id === id)?.state;

  it('moves steps along from the script output and keeps the rest as log', () => {
    let run = start();
    run = applyInstallerLine(run, '::step preflight Check this machine');
    expect(state(run, 'authorize')).toBe('changed');
    expect(state(run, 'preflight')).toBe('running');
    run = applyInstallerLine(run, '  root: /');
    run = applyInstallerLine(run, '::result preflight unchanged');
    run = applyInstallerLine(run, '::step access Give alice access');
    run = applyInstallerLine(run, '::result access skipped no invoking user; run: sudo gpasswd -a $USER hearth');
    expect(state(run, 'preflight')).toBe('unchanged');
    expect(run.steps.find((s) => s.id === 'access')).toMatchObject({
      state: 'skipped',
      note: 'no invoking user; run: sudo gpasswd -a $USER hearth',
    });
    expect(run.log).toContain('  root: /');
    expect(run.state).toBe('running');
  });

  it('records which step failed and why', () => {
    let run = applyInstallerLine(start(), '::step files Install hearthd');
    run = applyInstallerLine(run, '::fail files /usr/lib is writable by group or others (mode 777)');
    expect(run.state).toBe('failed');
    expect(state(run, 'files')).toBe('failed');
    expect(run.error).toBe('Install hearthd into /usr/lib/hearth: /usr/lib is writable by group or others (mode 777)');
  });

  it('reads ::progress into the running step, and nothing else', () => {
    let run = newRun(
      planInstall({ action: 'build-image' }, { installedVersion: null, bundledVersion: '1' }),
      'build-image',
      0,
    );
    run = applyInstallerLine(run, '::step packages Install packages');
    run = applyInstallerLine(run, '::progress packages 42.5 Unpacking openssh-server');
    expect(run.steps.find((s) => s.id === 'packages')).toMatchObject({
      state: 'running',
      percent: 42.5,
      note: 'Unpacking openssh-server',
    });
    run = applyInstallerLine(run, '::progress disk 10 not started');
    run = applyInstallerLine(run, '::progress packages 900');
    run = applyInstallerLine(run, '::progress packages lots');
    expect(run.steps.find((s) => s.id === 'disk')?.percent).toBeUndefined();
    expect(run.steps.find((s) => s.id === 'packages')?.percent).toBe(100);
    run = applyInstallerLine(run, '::result packages changed');
    run = applyInstallerLine(run, '::progress packages 50 late');
    expect(run.steps.find((s) => s.id === 'packages')).toMatchObject({ state: 'changed', percent: 100 });
  });

  it('ignores unknown ids and malformed markers instead of crashing', () => {
    let run = applyInstallerLine(start(), '::result nonsense changed');
    run = applyInstallerLine(run, '::step');
    expect(run.state).toBe('running');
    expect(run.log).toHaveLength(2);
  });

  it('failRun marks the running step', () => {
    let run = applyInstallerLine(start(), '::step users Create');
    run = failRun(run, 'killed', 5);
    expect(state(run, 'users')).toBe('failed');
    expect(run).toMatchObject({ state: 'failed', finishedAt: 5 });
  });
});

describe('SudoPromptRunner', () => {
  it('follows progress through the file while the privileged command runs, and reports dismissal', async () => {
    const seen: string[] = [];
    // A stand-in for sudo-prompt's exec (no password dialog in tests): runs the command with bash.
    const runner = new SudoPromptRunner((command, options, callback) => {
      expect(options.name).toBe('Hearth');
      execFile('/bin/bash', ['-c', command], (error, stdout, stderr) => callback(error ?? undefined, stdout, stderr));
    });
    const script = join(await mkdtemp(join(tmpdir(), 'hearth-sudo-')), 'fake.sh');
    await writeFile(
      script,
      'while [ $# -gt 0 ]; do [ "$1" = --progress ] && p=$2; shift; done\necho "::step preflight x" >> "$p"\nsleep 0.3\necho "::result preflight unchanged" >> "$p"\n',
    );
    const result = await runner.run(script, ['install'], (line) => seen.push(line));
    expect(result.code).toBe(0);
    expect(seen).toEqual(['::step preflight x', '::result preflight unchanged']);

    const dismissed = new SudoPromptRunner((_c, _o, callback) => callback(new Error('User did not grant permission.')));
    await expect(dismissed.run(script, [], () => undefined)).resolves.toMatchObject({ code: 126 });
    for (const bad of ['$(reboot)', '`id`', 'a"b', "a'b", 'a\\b'])
      await expect(dismissed.run(script, ['install', '--version', bad], () => undefined)).rejects.toThrow('refusing');
    await rm(join(script, '..'), { recursive: true, force: true });
  });
});

/** The whole installer (plan → runner → real script → step updates) into a scratch root. */
describe('Installer with the real script in a scratch root', skipWhen(NEEDS_ROOT), () => {
  let root: string;
  beforeAll(async () => {
    root = await seedScratchRoot('hearth-installer-');
    // What the app ships: the bundle with its native module beside it.
    await mkdir(`${root}-helper`);
    for (const file of ['hearthd.mjs', 'koffi.node'])
      await cp(join(repo, 'dist/helper', file), join(`${root}-helper`, file));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(`${root}-helper`, { recursive: true, force: true });
  });

  it('publishes every step and ends succeeded; uninstall too', async () => {
    const connection = new ConnectionManager({
      socketPath: join(root, 'none.sock'),
      bundledVersion: '0.1.0',
      isInstalled: () => Promise.resolve(false),
    });
    const facts = {
      bundledVersion: '0.1.0',
      root,
      user: 'alice',
      hearthd: `${root}-helper/hearthd.mjs`,
      node: process.execPath,
    };
    const installer = new Installer({
      script: join(repo, 'assets/linux/hearth-install.sh'),
      runner: new DirectRunner(),
      connection,
      facts: async () => ({ installedVersion: await readInstalledVersion(root), ...facts }),
    });
    const updates: InstallRun[] = [];
    installer.onUpdate((run) => updates.push(run));
    const done = () =>
      new Promise<InstallRun>((resolve) => {
        const off = installer.onUpdate((run) => {
          if (run.state !== 'running') {
            off();
            resolve(run);
          }
        });
      });
    let finished = done();
    const first = await installer.start({ action: 'install' });
    expect(first.kind).toBe('install');
    await expect(installer.start({ action: 'install' })).rejects.toThrow('already running');
    let run = await finished;
    expect(run.error).toBeUndefined();
    expect(run.state).toBe('succeeded');
    expect(Object.fromEntries(run.steps.map((s) => [s.id, s.state]))).toEqual({
      authorize: 'changed',
      preflight: 'unchanged',
      users: 'changed',
      files: 'changed',
      unit: 'changed',
      runtime: 'changed',
      access: 'changed',
      service: 'changed',
      socket: 'skipped',
      verify: 'skipped',
    });
    // Progress was visible step by step, not only at the end.
    expect(updates.filter((u) => u.steps.some((s) => s.state === 'running')).length).toBeGreaterThan(5);
    expect(await readInstalledVersion(root)).toBe('0.1.0');
    expect(await readFile(join(root, 'etc/group'), 'utf8')).toMatch(/^hearth:x:\d+:alice$/m);

    finished = done();
    expect((await installer.start({ action: 'install' })).kind).toBe('repair');
    run = await finished;
    expect(run.steps.filter((s) => s.state === 'changed').map((s) => s.id)).toEqual(['authorize']);

    finished = done();
    await installer.start({ action: 'uninstall', purge: true });
    run = await finished;
    expect(run.state).toBe('succeeded');
    expect(await readInstalledVersion(root)).toBeNull();
  });
});
