import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvironmentList, HostReport, CliVersionReport, API_REVISION } from '#protocol';
import { HELPER_STATE_MESSAGES, isHearthdInstalled } from '../../user/helper-state.js';
import { ensureMember, type Member } from '../../e2e/support/member-bridge.js';
import { addTinyClass, installTestImage, killVmms, waitForState } from '../../helper/test/support/environments.js';
import { eventually } from '../../helper/test/support/eventually.js';
import { HearthdProcess, makePaths, type HearthdPaths } from '../../helper/test/support/hearthd-process.js';
import { assertMatches } from '../../helper/test/support/schema.js';
import { NEEDS_ROOT, skipWhen } from '../../helper/test/support/skip.js';
import { CONTROL, hearth } from './support/hearth-cli.js';

/**
 * The real `hearth` (the bundled file the packages ship) as a subprocess, against a real hearthd run
 * as its unit runs it, booting the busybox test guest under QEMU TCG. As a person at a terminal (a
 * pseudo-TTY), as a script (pipes), and as a hearth member who is not root.
 */
describe('hearth against a real hearthd', skipWhen(NEEDS_ROOT), () => {
  let paths: HearthdPaths;
  let daemon: HearthdProcess;
  let member: Member;
  /** root's HOME for these runs: its SSH key is made here, not in the real /root. */
  let home: string;
  let readyMarker: string;
  const cleanup: Array<() => Promise<unknown>> = [];
  const run = (args: readonly string[], options: Parameters<typeof hearth>[2] = {}) =>
    hearth(paths.socket, args, { ...options, env: { HOME: home, ...options.env } });
  const asMember = (args: readonly string[]) => hearth(paths.socket, args, { as: member });

  beforeAll(async () => {
    member = await ensureMember();
    paths = await makePaths('hearth-cli-');
    cleanup.push(() => rm(paths.dir, { recursive: true, force: true }));
    await mkdir(paths.runtimeDir, { mode: 0o750 });
    await chmod(paths.runtimeDir, 0o750);
    ({ readyMarker } = await installTestImage(paths));
    daemon = await HearthdProcess.start(paths, ['--hypervisor', 'qemu', '--accel', 'tcg', '--vmm-user', 'nobody']);
    cleanup.push(() => daemon.dispose());
    cleanup.push(() => killVmms(paths));
    const client = daemon.client();
    await addTinyClass(client);
    await client.close();
    home = await mkdtemp(join(tmpdir(), 'hearth-cli-home-'));
    cleanup.push(() => rm(home, { recursive: true, force: true }));
  }, 180_000);
  afterAll(async () => {
    for (const undo of cleanup.reverse()) await undo().catch((e: unknown) => console.warn(`cleanup: ${String(e)}`));
  });

  it('doctor prints every check and exits with the code of its verdict', async () => {
    const json = await run(['doctor', '--json']);
    const report = JSON.parse(json.stdout) as HostReport;
    assertMatches(HostReport, report);
    const expected = { ready: 0, 'not-ready': 1, degraded: 3 }[report.verdict];
    expect(json.exitCode, json.stderr).toBe(expected);
    const text = await run(['doctor']);
    expect(text.exitCode).toBe(expected);
    for (const check of report.checks) expect(text.stdout).toContain(check.title);
    expect(text.stdout).toContain(report.reason);
  });

  it('version prints this command, hearthd and the API revision', async () => {
    const json = await run(['version', '--json']);
    expect(json.exitCode, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as CliVersionReport;
    assertMatches(CliVersionReport, report);
    expect(report.client.apiRevision).toBe(API_REVISION);
    expect(report.hearthd?.apiRevision).toBe(API_REVISION);
    expect((await run(['version'])).stdout).toMatch(/^hearth +\S+ \(API v1 revision \d+\)\nhearthd +\S+/);
  });

  it('create --wait shows live progress on a terminal and ends with how to reach it', async () => {
    const result = await run(['create', 'alpha', '--class', 'tiny', '--wait'], { tty: true, timeout: 300_000 });
    expect(result.exitCode, result.stdout).toBe(0);
    // The spinner redraws its line: a carriage return or an erase sequence, then the state.
    expect(result.stdout).toMatch(CONTROL);
    expect(result.stdout).toMatch(/alpha: (booting|creating its disk)/);
    expect(result.stdout).toContain('alpha is running');
  }, 320_000);

  it('create --wait on a pipe prints no progress, only the outcome', async () => {
    const result = await run(['create', 'beta', '--class', 'tiny', '--wait'], { timeout: 300_000 });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toContain('beta is running');
    expect(result.stderr).not.toMatch(CONTROL);
    expect(result.stderr).not.toContain('booting');
    expect(result.stdout).toBe('');
  }, 320_000);

  it('ls prints a table; ls --json is the API list, valid against its schema', async () => {
    const json = await run(['ls', '--json']);
    expect(json.exitCode, json.stderr).toBe(0);
    const list = JSON.parse(json.stdout) as EnvironmentList;
    assertMatches(EnvironmentList, list);
    expect(list.environments.map((e) => [e.name, e.state]).sort()).toEqual([
      ['alpha', 'running'],
      ['beta', 'running'],
    ]);
    const table = await run(['ls']);
    expect(table.exitCode, table.stderr).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header!.split(/\s+/)).toEqual([
      'NAME',
      'STATE',
      'IMAGE',
      'CLASS',
      'REPOSITORY',
      'ADDRESS',
      'CPU',
      'MEMORY',
      'UPTIME',
    ]);
    expect(rows.map((r) => r.split(/\s+/).slice(0, 4))).toEqual([
      ['alpha', 'running', 'test-guest', 'tiny'],
      ['beta', 'running', 'test-guest', 'tiny'],
    ]);
    // CPU as a percentage and an uptime: live figures for running environments.
    expect(rows[0]).toMatch(/\d+(\.\d)?%/);
    expect(rows[0]).toMatch(/\d+s$|\d+m\d\ds$/);
    // Colour only for a person: bold header on a terminal, none with NO_COLOR.
    expect((await run(['ls'], { tty: true })).stdout).toContain('\u001b[1mNAME');
    expect((await run(['ls'], { tty: true, env: { NO_COLOR: '1' } })).stdout).not.toContain('\u001b[');
  });

  it('logs -f follows the console until Ctrl-C, which ends it with exit 0', async () => {
    const follow = run(['logs', 'alpha', '-f', '--tail', '50']);
    let seen = '';
    follow.stdout.on('data', (chunk: Buffer) => (seen += chunk.toString()));
    await eventually(() => seen.includes(readyMarker), { what: 'the console to reach the ready marker' });
    follow.kill('SIGINT');
    const result = await follow;
    expect(result.exitCode, result.stderr).toBe(0);
    const events = await run(['logs', 'alpha', '--source', 'events']);
    expect(events.stdout).toMatch(/created\s/);
  });

  it('stop, start and rm --yes act on the named environments', async () => {
    const stop = await run(['stop', 'alpha', 'beta', '--force']);
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(stop.stderr).toContain('alpha: stopping');
    const client = daemon.client();
    await waitForState(client, 'alpha', 'stopped');
    await waitForState(client, 'beta', 'stopped');
    const start = await run(['start', 'alpha']);
    expect(start.exitCode, start.stderr).toBe(0);
    await waitForState(client, 'alpha', 'running', 120_000);
    const startedAt = (await client.call('getEnvironment', { params: { id: 'alpha' } })).startedAt;
    const restart = await run(['restart', 'alpha', '--json']);
    expect(restart.exitCode, restart.stderr).toBe(0);
    assertMatches(EnvironmentList, JSON.parse(restart.stdout));
    await eventually(
      async () => {
        const env = await client.call('getEnvironment', { params: { id: 'alpha' } });
        return env.state === 'running' && env.startedAt !== startedAt;
      },
      { what: 'alpha to run again after its restart', timeoutMs: 120_000 },
    );
    // Without a terminal to ask on, deleting needs --yes: a usage error, nothing deleted.
    const unasked = await run(['rm', 'beta']);
    expect(unasked.exitCode).toBe(2);
    expect(unasked.stderr).toContain('--yes');
    expect((await client.call('listEnvironments')).environments).toHaveLength(2);
    const removed = await run(['rm', '--yes', 'alpha', 'beta']);
    expect(removed.exitCode, removed.stderr).toBe(0);
    await eventually(async () => (await client.call('listEnvironments')).environments.length === 0, {
      what: 'both environments to be gone',
    });
    await client.close();
  }, 180_000);

  it('Ctrl-C during create --wait exits 130 and leaves the environment going', async () => {
    const create = run(['create', 'gamma', '--class', 'tiny', '--wait'], { tty: true, timeout: 300_000 });
    let seen = '';
    create.stdout.on('data', (chunk: Buffer) => (seen += chunk.toString()));
    await eventually(() => seen.includes('gamma:'), { what: 'progress for gamma' });
    create.kill('SIGINT');
    const result = await create;
    expect(result.exitCode, result.stdout).toBe(130);
    expect(result.stdout).toContain('gamma keeps');
    const client = daemon.client();
    await waitForState(client, 'gamma', 'running', 120_000);
    await client.call('deleteEnvironment', { params: { id: 'gamma' } });
    await client.close();
  }, 320_000);

  it('a guest that never gets ready fails create --wait with hearthd reason and exit 1', async () => {
    await installTestImage(paths, { name: 'never-ready', readyMarker: 'NEVER-PRINTED-MARKER' });
    const client = daemon.client();
    await client.call('updateConfig', { body: { bootTimeoutSeconds: 3 } });
    try {
      const result = await run(['create', 'delta', '--class', 'tiny', '--image', 'never-ready', '--wait']);
      expect(result.exitCode, result.stderr).toBe(1);
      const env = await client.call('getEnvironment', { params: { id: 'delta' } });
      expect(env.state).toBe('failed');
      expect(result.stderr).toContain(`delta is failed: ${env.reason ?? ''}`);
    } finally {
      await client.call('updateConfig', { body: { bootTimeoutSeconds: 300 } });
      await client.call('deleteEnvironment', { params: { id: 'delta' } }).catch(() => undefined);
      await client.close();
    }
  }, 180_000);

  it('finds hearthd by --socket before or after the verb, else HEARTH_SOCKET', async () => {
    const env = { HOME: home };
    expect((await hearth(null, ['ls', '--json', '--socket', paths.socket], { env })).exitCode).toBe(0);
    expect((await hearth(null, ['--socket', paths.socket, 'ls', '--json'], { env })).exitCode).toBe(0);
    const fromEnv = await hearth(null, ['version', '--json'], { env: { ...env, HEARTH_SOCKET: paths.socket } });
    expect(fromEnv.exitCode, fromEnv.stderr).toBe(0);
    // The flag wins over the variable.
    const both = await hearth(null, ['ls', '--socket', join(paths.dir, 'absent.sock')], {
      env: { ...env, HEARTH_SOCKET: paths.socket },
    });
    expect(both.exitCode).toBe(4);
  });

  it("logs --hearthd prints hearthd's own log", async () => {
    const log = await run(['logs', '--hearthd', '--tail', '20']);
    expect(log.exitCode, log.stderr).toBe(0);
    expect(log.stdout.trim().split('\n').length).toBeGreaterThan(0);
    expect(log.stdout).toMatch(/^\d{4}-\d\d-\d\dT\S+ +(info|warn|debug|error) /m);
    expect((await run(['logs', 'alpha', '--hearthd'])).exitCode).toBe(2);
    expect((await run(['logs'])).exitCode).toBe(2);
  });

  it('errors: hearthd words and exit 1, usage 2, unreachable 4 with the app words', async () => {
    const missing = await run(['start', 'nope']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/hearth: nope: .*nope/);

    expect((await run(['create'])).exitCode).toBe(2);
    expect((await run(['ls', '--bogus'])).exitCode).toBe(2);
    expect((await run(['frobnicate'])).exitCode).toBe(2);
    expect((await run(['logs', 'x', '--source', 'kernel'])).exitCode).toBe(2);
    const badName = await run(['create', 'Not_A_Name', '--class', 'tiny']);
    expect(badName.exitCode).toBe(1);
    expect(badName.stderr).toContain('hearth: ');

    // No socket at all: "not installed" or "stopped", the way the app tells them apart.
    const none = await hearth(join(paths.dir, 'absent.sock'), ['ls'], { env: { HOME: home } });
    expect(none.exitCode).toBe(4);
    const installed = await isHearthdInstalled();
    expect(none.stderr).toContain(HELPER_STATE_MESSAGES[installed ? 'stopped' : 'not-installed']);

    // A socket nobody listens on (hearthd killed): refused, so "installed but not running".
    // (Bound and never listened on, and left behind: what a killed daemon leaves.)
    const stale = join(paths.dir, 'stale.sock');
    await execa('python3', ['-c', 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', stale]);
    const refused = await hearth(stale, ['ls'], { env: { HOME: home } });
    expect(refused.exitCode, refused.stderr).toBe(4);
    expect(refused.stderr).toContain(HELPER_STATE_MESSAGES.stopped);

    // A socket the user may not open: the words for a user who is not (yet) in the group.
    const closed = join(paths.dir, 'closed');
    await mkdir(closed, { mode: 0o700 });
    await chown(closed, 0, 0);
    const denied = await hearth(join(closed, 'hearthd.sock'), ['ls'], { as: member });
    expect(denied.exitCode).toBe(4);
    expect(denied.stderr).toContain(HELPER_STATE_MESSAGES['permission-denied']);
  });

  it('a member sees and acts only on their own environments', async () => {
    const client = daemon.client();
    await client.call('createEnvironment', {
      body: { name: 'roots', class: 'tiny', image: 'test-guest', start: false },
    });
    try {
      const made = await asMember(['create', 'mine', '--class', 'tiny', '--image', 'test-guest', '--no-start']);
      expect(made.exitCode, made.stderr).toBe(0);
      const theirs = JSON.parse((await asMember(['ls', '--json'])).stdout) as EnvironmentList;
      expect(theirs.environments.map((e) => e.name)).toEqual(['mine']);
      const all = JSON.parse((await run(['ls', '--json'])).stdout) as EnvironmentList;
      expect(all.environments.map((e) => e.name).sort()).toEqual(['mine', 'roots']);
      for (const verb of [['start'], ['stop'], ['rm', '--yes'], ['logs']]) {
        const refused = await asMember([...verb, 'roots']);
        expect(refused.exitCode, `${verb.join(' ')}: ${refused.stderr}`).toBe(1);
      }
      expect((await client.call('getEnvironment', { params: { id: 'roots' } })).state).toBe('stopped');
      expect((await asMember(['rm', '--yes', 'mine'])).exitCode).toBe(0);
    } finally {
      await client.call('deleteEnvironment', { params: { id: 'roots' } }).catch(() => undefined);
      await client.call('deleteEnvironment', { params: { id: 'mine' } }).catch(() => undefined);
      await client.close();
    }
  });
});
