import { readdir, readFile, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AccessCheck,
  ClassList,
  CliImages,
  ConfigView,
  Credential,
  CredentialList,
  EnvironmentClass,
  ImageList,
  Profile,
  Settings,
} from '#protocol';
import { ensureMember, type Member } from '../../e2e/support/member-bridge.js';
import { HearthdProcess, makePaths, type HearthdPaths } from '../../helper/test/support/hearthd-process.js';
import { NEEDS_ROOT, skipWhen } from '../../helper/test/support/skip.js';
import { CLI, expectValid, hearthAsMember, hearthAsRoot, typeAtPrompt } from './support/run-cli.js';

/** What `ps -eo args` shows, read from /proc as ps does: every process's command line. */
async function everyCommandLine(): Promise<string> {
  const lines: string[] = [];
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    const argv = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''); // gone meanwhile
    if (argv !== '') lines.push(`${pid} ${argv.split('\0').join(' ')}`);
  }
  return lines.join('\n');
}

/**
 * `hearth classes`, `config`, `profile`, `access` and `images` as people use them: the bundled
 * command as a subprocess, as root (an administrator) and as a non-root hearth member, against
 * a real hearthd run as its unit runs it. No VM boots here.
 */
describe('hearth classes, config, profile, access and images against a real hearthd', skipWhen(NEEDS_ROOT), () => {
  let paths: HearthdPaths;
  let daemon: HearthdProcess;
  let member: Member;
  const cleanup: Array<() => Promise<unknown>> = [];
  const asRoot = (...args: string[]) => hearthAsRoot(paths.socket, args);
  const asMember = (...args: string[]) => hearthAsMember(member, paths.socket, args);
  const json = (stdout: unknown): unknown => JSON.parse(String(stdout));

  beforeAll(async () => {
    member = await ensureMember();
    paths = await makePaths('hearth-cli-commands-');
    cleanup.push(() => rm(paths.dir, { recursive: true, force: true }));
    daemon = await HearthdProcess.start(paths);
    cleanup.push(() => daemon.dispose());
  }, 60_000);
  afterAll(async () => {
    for (const undo of cleanup.reverse()) await undo().catch((e: unknown) => console.warn(`cleanup: ${String(e)}`));
  });

  describe('config', () => {
    it('prints every setting, one, and --json as the API answers', async () => {
      const all = await asRoot('config', 'get', '--json');
      expect(all.exitCode, all.stderr).toBe(0);
      const view = json(all.stdout);
      expectValid(ConfigView, view);
      const text = await asMember('config', 'get');
      expect(text.exitCode, text.stderr).toBe(0);
      for (const key of Object.keys(Settings.properties)) expect(text.stdout).toMatch(new RegExp(`^${key} `, 'm'));
      const one = await asMember('config', 'get', 'maxEnvironments', '--json');
      expect(one.stdout).toBe(String((view as ConfigView).settings.maxEnvironments));
      expectValid(Settings.properties.maxEnvironments, json(one.stdout));
    });

    it("sets a value converted to the setting's type", async () => {
      const set = await asRoot('config', 'set', 'stopTimeoutSeconds', '42', '--json');
      expect(set.exitCode, set.stderr).toBe(0);
      const view = json(set.stdout) as ConfigView;
      expectValid(ConfigView, view);
      expect(view.settings.stopTimeoutSeconds).toBe(42);
      expect((await daemon.client().call('getConfig')).settings.stopTimeoutSeconds).toBe(42);
      const word = await asRoot('config', 'set', 'hypervisor', 'qemu');
      expect(word.exitCode, word.stderr).toBe(0);
      expect((await asRoot('config', 'get', 'hypervisor')).stdout).toBe('qemu');
    });

    it('refuses an unknown key or a word for a number as usage (2), naming the valid keys', async () => {
      const unknown = await asRoot('config', 'set', 'maxVms', '3');
      expect(unknown.exitCode).toBe(2);
      expect(unknown.stderr).toContain('there is no setting "maxVms"');
      expect(unknown.stderr).toContain('maxEnvironments, maxEnvironmentsPerOwner');
      expect((await asRoot('config', 'get', 'nope')).exitCode).toBe(2);
      const word = await asRoot('config', 'set', 'maxEnvironments', 'many');
      expect(word.exitCode).toBe(2);
      expect(word.stderr).toContain('maxEnvironments takes a whole number');
    });

    it("passes hearthd's refusal of a value out of range on with exit 1", async () => {
      const result = await asRoot('config', 'set', 'maxEnvironments', '99');
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(/^hearth: .*maxEnvironments/m);
      expect((await daemon.client().call('getConfig')).settings.maxEnvironments).not.toBe(99);
    });

    it('refuses a member a change of settings with exit 4', async () => {
      const result = await asMember('config', 'set', 'maxEnvironments', '2');
      expect(result.exitCode).toBe(4);
      expect(result.stderr).toMatch(/^hearth: /);
    });
  });

  describe('classes', () => {
    it('lists the classes as a table and as ClassList', async () => {
      const listed = await asMember('classes', '--json');
      expect(listed.exitCode, listed.stderr).toBe(0);
      const list = json(listed.stdout) as ClassList;
      expectValid(ClassList, list);
      expect(list.classes.length).toBeGreaterThan(0);
      const table = await asMember('classes');
      expect(table.stdout).toMatch(/^NAME +CPUS +MEMORY +DISK +DESCRIPTION/);
      for (const c of list.classes) expect(table.stdout).toMatch(new RegExp(`^${c.name} +${c.cpus} `, 'm'));
    });

    it("lets an administrator add, change and remove a class; hearthd's own limits apply", async () => {
      const tooSmall = await asRoot('classes', 'set', 'cli-test', '--cpus', '1', '--memory', '128', '--disk', '2');
      expect(tooSmall.exitCode).toBe(1);
      expect(tooSmall.stderr).toMatch(/^hearth: .*memory/im);
      const added = await asRoot(
        'classes',
        'set',
        'cli-test',
        '--cpus',
        '1',
        '--memory',
        '3G',
        '--disk',
        '20',
        '--json',
      );
      expect(added.exitCode, added.stderr).toBe(0);
      expectValid(EnvironmentClass, json(added.stdout));
      expect(json(added.stdout)).toMatchObject({ name: 'cli-test', cpus: 1, memoryMiB: 3072, diskGiB: 20 });
      // Only what is given changes.
      const changed = await asRoot('classes', 'set', 'cli-test', '--cpus', '2', '--description', 'from the CLI');
      expect(changed.exitCode, changed.stderr).toBe(0);
      expect(await daemon.client().call('getClass', { params: { name: 'cli-test' } })).toMatchObject({
        cpus: 2,
        memoryMiB: 3072,
        diskGiB: 20,
        description: 'from the CLI',
      });
      const newWithout = await asRoot('classes', 'set', 'half', '--cpus', '1');
      expect(newWithout.exitCode).toBe(2);
      expect((await asRoot('classes', 'set', 'x', '--memory', '1.5G')).exitCode).toBe(2);
      const removed = await asRoot('classes', 'rm', 'cli-test', '--json');
      expect(removed.exitCode, removed.stderr).toBe(0);
      expectValid(ClassList, json(removed.stdout));
      expect((json(removed.stdout) as ClassList).classes.map((c) => c.name)).not.toContain('cli-test');
    });

    it('refuses a member admin-only changes with exit 4 and changes nothing', async () => {
      const before = await daemon.client().call('listClasses');
      const set = await asMember('classes', 'set', 'mine', '--cpus', '2', '--memory', '4G', '--disk', '20');
      expect(set.exitCode).toBe(4);
      expect(set.stderr).toMatch(/^hearth: /);
      const name = before.classes[0]?.name ?? 'none';
      expect((await asMember('classes', 'rm', name)).exitCode).toBe(4);
      expect(await daemon.client().call('listClasses')).toEqual(before);
    });
  });

  describe('profile', () => {
    it("shows and sets the member's own git identity", async () => {
      const empty = await asMember('profile', '--json');
      expect(empty.exitCode, empty.stderr).toBe(0);
      expectValid(Profile, json(empty.stdout));
      const set = await asMember('profile', 'set', '--name', 'Ada Lovelace', '--email', 'ada@example.com', '--json');
      expect(set.exitCode, set.stderr).toBe(0);
      expect(json(set.stdout)).toEqual({ gitName: 'Ada Lovelace', gitEmail: 'ada@example.com' });
      // One flag keeps the other field; an empty value clears.
      expect((await asMember('profile', 'set', '--name', '')).exitCode).toBe(0);
      const shown = await asMember('profile');
      expect(shown.stdout).toMatch(/^name +-$/m);
      expect(shown.stdout).toMatch(/^email +ada@example\.com$/m);
      // Root's profile is root's own.
      expect(json((await asRoot('profile', '--json')).stdout)).not.toMatchObject({ gitEmail: 'ada@example.com' });
      expect((await asMember('profile', 'set')).exitCode).toBe(2);
      const bad = await asMember('profile', 'set', '--email', 'not an email');
      expect(bad.exitCode).toBe(1);
      expect(bad.stderr).toMatch(/^hearth: /);
    });
  });

  describe('access', () => {
    const TOKEN = 'ghp_CliTestToken0123456789abcdefSECRET';

    it('reads a token from stdin only: never in argv, ps or any output', async () => {
      const child = hearthAsMember(member, paths.socket, ['access', 'add', 'github.com', '--token-stdin', '--json'], {
        stdin: 'pipe',
      });
      // While it waits for the token, everything any local user can see of the process.
      await new Promise((r) => setTimeout(r, 300));
      const pid = child.pid ?? 0;
      const argv = await readFile(`/proc/${pid}/cmdline`, 'utf8');
      expect(argv).toContain('--token-stdin');
      const ps = await everyCommandLine();
      expect(ps).toContain('--token-stdin');
      child.stdin?.end(`${TOKEN}\n`);
      const result = await child;
      expect(result.exitCode, result.stderr).toBe(0);
      const credential = json(result.stdout) as Credential;
      expectValid(Credential, credential);
      expect(credential).toMatchObject({ host: 'github.com', kind: 'token' });
      expect(argv).not.toContain(TOKEN);
      expect(ps).not.toContain(TOKEN);
      expect(`${result.stdout}${result.stderr}`).not.toContain(TOKEN);
      for (const args of [['access', 'ls'], ['access', 'ls', '--json'], ['access']]) {
        const listed = await asMember(...args);
        expect(listed.exitCode, listed.stderr).toBe(0);
        expect(`${listed.stdout}${listed.stderr}`).not.toContain(TOKEN);
      }
      expect(daemon.output.join('\n')).not.toContain(TOKEN);
      const list = json((await asMember('access', 'ls', '--json')).stdout) as CredentialList;
      expectValid(CredentialList, list);
      expect(list.credentials.map((c) => [c.host, c.kind])).toEqual([['github.com', 'token']]);
      expect((await asMember('access', 'ls')).stdout).toMatch(/^cred-[0-9a-f]{12} +github\.com +token /m);
      // The member's credentials are not root's.
      expect((json((await asRoot('access', 'ls', '--json')).stdout) as CredentialList).credentials).toEqual([]);
    });

    it('asks for the token on a terminal without showing what is typed', async () => {
      const argv = [process.execPath, CLI, 'access', 'add', 'git.example.com', '--socket', paths.socket];
      const session = await typeAtPrompt(argv, '(not shown): ', TOKEN);
      expect(session.exitCode, session.stdout).toBe(0);
      expect(session.stdout).toContain('Personal access token for git.example.com (not shown): ');
      expect(session.stdout).toContain('git.example.com: token saved');
      expect(session.stdout).not.toContain(TOKEN);
      expect(session.stdout).not.toContain(TOKEN.slice(0, 8));
      const saved = await daemon.client().call('listCredentials');
      expect(saved.credentials.map((c) => [c.host, c.kind])).toEqual([['git.example.com', 'token']]);
      expect((await asRoot('access', 'rm', 'git.example.com')).exitCode).toBe(0);
    });

    it('asks for no token without a terminal: usage (2) with the way to give it', async () => {
      const result = await asMember('access', 'add', 'gitlab.com');
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain('--token-stdin');
      const empty = await hearthAsMember(member, paths.socket, ['access', 'add', 'gitlab.com', '--token-stdin'], {
        input: '',
      });
      expect(empty.exitCode).toBe(2);
      expect(empty.stderr).toContain('no token given');
    });

    it('has hearthd make an SSH key and prints its public half alone on stdout', async () => {
      const result = await asMember('access', 'add', 'gitlab.com', '--ssh-key');
      expect(result.exitCode, result.stderr).toBe(0);
      const list = await daemon.client().call('listCredentials');
      expect(list.credentials).toEqual([]); // root's view: the key is the member's
      const key = result.stdout.trim();
      expect(key).toMatch(/^ssh-ed25519 [A-Za-z0-9+/]+={0,3}( |$)/);
      expect(result.stderr).toContain('Add this public key to gitlab.com');
      const mine = json((await asMember('access', 'ls', '--json')).stdout) as CredentialList;
      expect(mine.credentials.find((c) => c.kind === 'ssh-key')?.publicKey).toBe(key);
    });

    it('prints the failure code and message of a check, exit 1; --json is the AccessCheck', async () => {
      const result = await asMember('access', 'check', 'https://127.0.0.1:9/team/app.git', '--json');
      expect(result.exitCode).toBe(1);
      const check = json(result.stdout) as AccessCheck;
      expectValid(AccessCheck, check);
      expect(check.ok).toBe(false);
      const text = await asMember('access', 'check', 'https://127.0.0.1:9/team/app.git');
      expect(text.exitCode).toBe(1);
      expect(text.stderr).toContain(`hearth: ${check.code}: `);
      // A URL hearthd refuses is its 400, printed as it comes.
      const refused = await asMember('access', 'check', 'http://example.com/a/b');
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toContain('http://');
    });

    it('removes by host, or asks for the id when the host has two', async () => {
      const gone = await asMember('access', 'rm', 'github.com');
      expect(gone.exitCode, gone.stderr).toBe(0);
      const list = json((await asMember('access', 'ls', '--json')).stdout) as CredentialList;
      expect(list.credentials.map((c) => c.host)).toEqual(['gitlab.com']);
      const child = hearthAsMember(member, paths.socket, ['access', 'add', 'gitlab.com', '--token-stdin'], {
        input: TOKEN,
      });
      expect((await child).exitCode).toBe(0);
      const ambiguous = await asMember('access', 'rm', 'gitlab.com');
      expect(ambiguous.exitCode).toBe(2);
      expect(ambiguous.stderr).toMatch(/cred-[0-9a-f]{12} \(token\)/);
      const ids = (json((await asMember('access', 'ls', '--json')).stdout) as CredentialList).credentials.map(
        (c) => c.id,
      );
      for (const id of ids) expect((await asMember('access', 'rm', id, '--json')).exitCode).toBe(0);
      expect((await asMember('access', 'rm', 'gitlab.com')).exitCode).toBe(1);
    });
  });

  describe('images', () => {
    it('lists installed images as ImageList, and with --available the catalog too', async () => {
      const listed = await asMember('images', '--json');
      expect(listed.exitCode, listed.stderr).toBe(0);
      expectValid(ImageList, json(listed.stdout));
      const both = await asMember('images', 'ls', '--available', '--json');
      expect(both.exitCode, both.stderr).toBe(0);
      const doc = json(both.stdout) as CliImages;
      expectValid(CliImages, doc);
      expect(doc.catalog.map((e) => e.name)).toEqual(['ubuntu-24.04', 'debian-12']);
      const table = await asMember('images', '--available');
      expect(table.stdout).toMatch(/^CATALOG +OS +STATE +SOURCE/m);
      expect(table.stdout).toMatch(/^debian-12 +Debian 12.* available /m);
    });

    it("refuses a member a download with exit 4, and an unknown name with hearthd's 404 (exit 1)", async () => {
      expect((await asMember('images', 'download', 'debian-12')).exitCode).toBe(4);
      const unknown = await asRoot('images', 'download', 'windows-95');
      expect(unknown.exitCode).toBe(1);
      expect(unknown.stderr).toContain('windows-95');
      expect((await asMember('images', 'rm', 'debian-12')).exitCode).toBe(4);
    });

    it('does not elevate without a terminal: it says what to run (or what is missing) and exits 1', async () => {
      const result = await asMember('images', 'build');
      expect(result.exitCode).toBe(1);
      expect(
        result.stdout === '' ||
          /^\/usr\/bin\/sudo \/bin\/bash \/opt\/Hearth\/.*hearth-install\.sh build-image$/.test(result.stdout),
      ).toBe(true);
      expect(result.stderr).toMatch(/hearth-install\.sh/);
    });
  });
});
