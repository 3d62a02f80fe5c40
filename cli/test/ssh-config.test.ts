import { chown, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { execa } from 'execa';
import { HEARTH_CLI as CLI } from './support/hearth-cli.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshPublicKey } from '#protocol';
import { ensureMember, type Member } from '../../e2e/support/member-bridge.js';
import { HearthdProcess, makePaths, type HearthdPaths } from '../../helper/test/support/hearthd-process.js';
import { NEEDS_ROOT, skipWhen } from '../../helper/test/support/skip.js';

const REPO = join(import.meta.dirname, '..', '..');

/**
 * `hearth ssh-config` as a user without the app runs it: a non-root hearth member, against a real
 * hearthd's socket (run as its unit runs it), in a home of the member's own.
 */
describe('hearth ssh-config as a hearth member against a real hearthd', skipWhen(NEEDS_ROOT), () => {
  let paths: HearthdPaths;
  let daemon: HearthdProcess;
  let member: Member;
  let home: string;
  /** What beforeAll made, undone in reverse (also when it failed half-way). */
  const cleanup: Array<() => Promise<unknown>> = [];

  /** A program run as the member, with what a login gives them and nothing of root's environment. */
  const runAsMember = (program: string, args: string[]) =>
    execa('setpriv', [`--reuid=${member.uid}`, `--regid=${member.gid}`, '--init-groups', '--', program, ...args], {
      cwd: REPO,
      extendEnv: false,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, USER: member.name, LANG: 'C.UTF-8' },
      reject: false,
    });
  // The options come first so a test's own (a later --socket) wins.
  const asMember = (args: string[]) =>
    runAsMember(process.execPath, [CLI, 'ssh-config', '--socket', paths.socket, ...args]);

  beforeAll(async () => {
    // The member first: hearthd gives its socket the hearth group only if the group exists.
    member = await ensureMember();
    paths = await makePaths('hearth-ssh-config-');
    cleanup.push(() => rm(paths.dir, { recursive: true, force: true }));
    daemon = await HearthdProcess.start(paths);
    cleanup.push(() => daemon.dispose());
    home = await mkdtemp(join(tmpdir(), 'hearth-ssh-config-home-'));
    cleanup.push(() => rm(home, { recursive: true, force: true }));
    await chown(home, member.uid, member.gid);
  }, 60_000);
  afterAll(async () => {
    for (const undo of cleanup.reverse()) await undo().catch((e: unknown) => console.warn(`cleanup: ${String(e)}`));
  });

  it('makes the key as the member, prints it alone on stdout, and writes the config from hearthd', async () => {
    const setup = await asMember(['setup']);
    expect(setup.exitCode, setup.stderr).toBe(0);
    const key = setup.stdout.trim();
    expect(Value.Check(SshPublicKey, key)).toBe(true);
    const dir = join(home, '.config', 'hearth');
    for (const [file, mode] of [
      ['id_ed25519', 0o600],
      ['ssh_config', 0o600],
      ['known_hosts', 0o600],
    ] as const) {
      const s = await stat(join(dir, file));
      expect([s.uid, s.mode & 0o777], file).toEqual([member.uid, mode]);
    }
    expect(setup.stderr).toContain('no environments yet');
    expect(setup.stderr).toContain('hearth ssh-config include');
    // A second `setup` keeps the key.
    expect((await asMember(['setup'])).stdout.trim()).toBe(key);
  });

  it('adds and removes the Include as the member; ssh reads it', async () => {
    const added = await asMember(['include']);
    expect(added.exitCode, added.stderr).toBe(0);
    const config = join(home, '.ssh', 'config');
    expect((await readFile(config, 'utf8')).split('\n')[1]).toBe(
      `Include "${join(home, '.config/hearth/ssh_config')}"`,
    );
    expect((await stat(config)).uid).toBe(member.uid);
    // As the member: ssh refuses an included file owned by anyone but root or whoever runs it.
    const parsed = await runAsMember('ssh', ['-G', '-F', config, 'anything.hearth']);
    expect(parsed.exitCode, parsed.stderr).toBe(0);
    const removed = await asMember(['remove']);
    expect(removed.exitCode, removed.stderr).toBe(0);
    expect(await readFile(config, 'utf8')).toBe('');
  });

  it('says what is wrong, with exit code 4, when hearthd is not there', async () => {
    const result = await asMember(['sync', '--socket', join(paths.dir, 'nope.sock')]);
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toContain('hearth: The Hearth helper');
    expect(result.stderr).toContain(join(paths.dir, 'nope.sock'));
  });
});
