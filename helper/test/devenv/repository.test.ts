import { chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessCheck, Credential, Environment, EnvironmentLogEntry } from '#protocol';
import type { HearthdClient } from '#protocol/client';
import { installDebianImage } from '../support/debian-image.js';
import { killVmms, waitForState } from '../support/environments.js';
import { startGitServer, onlyOnBranch, type GitServer } from '../support/git-server/index.js';
import { HearthdProcess, makePaths } from '../support/hearthd-process.js';
import { NEEDS_ROOT, skipWhen } from '../support/skip.js';
import { useTunLikeDistributions } from '../support/tun.js';
import { asUnit, unitProfile } from '../support/unit-profile.js';
import { requestAs } from '../support/request-as.js';
import {
  ensureDeveloper,
  hearthAs,
  sshAs,
  userSideOfSsh,
  makeWorld,
  WORLD,
  type Member,
  type World,
} from './support/world.js';
import { SecretsCanary } from './support/secrets-canary.js';

/**
 * Issue #15's whole scenario, for real: a Git server in the test's "internet" (git http-backend
 * behind HTTPS with a test CA and a token; sshd with a key-only git user), hearthd as the unit
 * runs it, and real Debian guests that clone the repository's `feature` branch into /workspace
 * through the guest channel — the token answered per request by hearthd's credential helper, the
 * SSH key never leaving hearthd (a relayed agent that signs only for the repository's host) —
 * and push a commit back. Then what must not happen: another member's or another host's
 * credential offered, a second guest user reaching the helper or the agent, the agent signing for
 * anything else, and any trace of the token or the key where it does not belong.
 */
const BOOT_MS = 20 * 60_000;
const STEP_MS = 5 * 60_000;

describe('a repository in the environment, over HTTPS and SSH', skipWhen(NEEDS_ROOT), () => {
  let world: World;
  let daemon: HearthdProcess;
  let client: HearthdClient;
  let git: GitServer;
  let alice: Member;
  let bob: Member;
  let restoreTun: (() => Promise<void>) | undefined;
  let imageName: string;
  let aliceKey: string;
  const canary = new SecretsCanary();
  const names: string[] = [];

  const api = async (member: Member, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => {
    const answer = await requestAs(daemon.paths.socket, member.uid, method, path, body);
    canary.sawApi(JSON.stringify(answer.body));
    return answer;
  };
  const check = async (member: Member, repository: string, ref?: string) => {
    const answer = await api(member, 'POST', '/v1/repositories/check', { repository, ...(ref && { ref }) });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body as unknown as AccessCheck;
  };
  const addCredential = async (member: Member, body: Record<string, unknown>) => {
    const answer = await api(member, 'POST', '/v1/credentials', body);
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return answer.body as unknown as Credential;
  };
  const create = async (member: Member, body: Record<string, unknown>) => {
    const answer = await api(member, 'POST', '/v1/environments', {
      class: 'dev',
      image: imageName,
      sshPublicKey: aliceKey,
      ...body,
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    names.push(body.name as string);
    return answer.body as unknown as Environment;
  };
  const settle = (name: string) => waitForState(client, name, ['running', 'failed'], BOOT_MS);
  const running = async (name: string) => {
    const env = await settle(name);
    if (env.state !== 'running') {
      const console = (await client.call('getEnvironmentLogs', { params: { id: name }, query: { tail: 60 } })).lines;
      expect.fail(
        `${name} is ${env.state}: ${env.reason ?? ''}\n${(await events(name)).join('\n')}\n${console.join('\n')}`,
      );
    }
    // The user's side of SSH learns the new environment's address and host keys.
    await sshSide(alice, 'sync');
    return env;
  };
  const events = async (name: string) =>
    (await client.call('getEnvironmentLogs', { params: { id: name }, query: { source: 'events', tail: 1000 } })).lines
      .map((line) => JSON.parse(line) as EnvironmentLogEntry)
      .map((entry) => `${entry.event}: ${entry.message}`);
  /** `ssh <name>.hearth <command>` as alice, with the config her side of SSH wrote. */
  const ssh = (host: string, command: string, timeout = 120_000) =>
    sshAs(alice, world.ws, `${host}.hearth`, command, timeout);
  const sshOk = async (host: string, command: string) => {
    const run = await ssh(host, command);
    expect(run.exitCode, `ssh ${host} ${command}: ${run.stderr}`).toBe(0);
    return run.stdout.trim();
  };
  const sshSide = (member: Member, ...command: string[]) =>
    userSideOfSsh(member, world.ws, daemon.paths.socket, ...command);

  beforeAll(async () => {
    restoreTun = await useTunLikeDistributions();
    world = await makeWorld();
    alice = await ensureDeveloper('hearth-dev-a');
    bob = await ensureDeveloper('hearth-dev-b');
    git = await startGitServer({ netns: world.internet, address: WORLD.internetHost });
    await git.createRepository('app', { branches: ['main', 'feature'] });
    canary.secret('the token', git.https.token);
    const paths = await makePaths('hearthd-repo-');
    imageName = (await installDebianImage(paths)).name;
    daemon = await HearthdProcess.start(paths, [], ['ip', 'netns', 'exec', world.ws, ...asUnit(unitProfile())]);
    await chmod(paths.socket, 0o666); // this daemon serves this test only
    client = daemon.client();
    await client.call('updateConfig', { body: { hypervisor: 'qemu', accel: 'tcg', minimumMemoryMiB: 512 } });
    await client.call('putClass', { params: { name: 'dev' }, body: { cpus: 1, memoryMiB: 768, diskGiB: 4 } });
    aliceKey = await sshSide(alice, 'setup');
    await sshSide(alice, 'include');
    canary.collectEvents(daemon.client());
  }, BOOT_MS);

  afterAll(async () => {
    const quietly = (step: () => Promise<unknown>) =>
      Promise.resolve()
        .then(step)
        .catch(() => undefined);
    for (const name of names) await quietly(() => client.call('deleteEnvironment', { params: { id: name } }));
    await quietly(() => client.close());
    await quietly(() => killVmms(daemon.paths));
    await quietly(() => daemon.dispose());
    await quietly(() => git.stop());
    await quietly(() => world.dispose());
    await quietly(async () => restoreTun?.());
  }, STEP_MS);

  it(
    'HTTPS: a wrong token is told by the check and fails the create with git’s error; the right one clones `feature`',
    async () => {
      const url = git.https.url('app');
      const profile = await api(alice, 'GET', '/v1/me/profile');
      expect(profile.status).toBe(200);
      const put = await requestAs(daemon.paths.socket, alice.uid, 'PUT', '/v1/me/profile', {
        gitName: 'Alice Example',
        gitEmail: 'alice@example.test',
      });
      expect(put.status, JSON.stringify(put.body)).toBe(200);

      await addCredential(alice, {
        host: WORLD.internetHost,
        kind: 'token',
        token: 'not-the-token',
        caCertificate: git.https.caPem,
      });
      expect(await check(alice, url, 'feature')).toMatchObject({ ok: false, code: 'auth-refused' });

      await create(alice, { name: 'web', repository: url, ref: 'feature' });
      const failed = await settle('web');
      expect(failed.state).toBe('failed');
      expect(failed.reason).toMatch(
        /the repository could not be cloned: .*(Authentication failed|401|could not read)/i,
      );
      expect(failed.repository?.clone).toMatchObject({ status: 'error' });
      expect((await events('web')).some((line) => line.startsWith('clone-failed: '))).toBe(true);

      // The right token replaces the wrong one; the check now sees the branch and its commit.
      const credential = await addCredential(alice, {
        host: WORLD.internetHost,
        kind: 'token',
        token: git.https.token,
        caCertificate: git.https.caPem,
      });
      expect(credential).toMatchObject({ kind: 'token', caCertificate: true });
      expect(JSON.stringify(credential)).not.toContain(git.https.token);
      const feature = await git.head('app', 'feature');
      expect(await check(alice, url, 'feature')).toMatchObject({
        ok: true,
        code: 'ok',
        defaultBranch: 'main',
        ref: 'feature',
        commit: feature,
      });
      expect((await check(alice, url, 'no-such-branch')).code).toBe('ref-not-found');

      await api(alice, 'POST', '/v1/environments/web/start');
      const web = await running('web');
      expect(web.repository).toMatchObject({
        url,
        ref: 'feature',
        commit: feature,
        directory: '/workspace/app',
        clone: { status: 'done' },
      });
      const only = onlyOnBranch('feature');
      expect(await sshOk('web', `cat /workspace/app/${only.file}`)).toBe(only.content.trim());
      // The same through the command line: `hearth ssh` with Hearth's own ssh_config, the remote
      // command's output and exit code passed through.
      const viaCli = await hearthAs(alice, world.ws, daemon.paths.socket, [
        'ssh',
        'web',
        '--',
        'cat',
        `/workspace/app/${only.file}`,
      ]);
      expect(viaCli.exitCode, viaCli.stderr).toBe(0);
      expect(viaCli.stdout.trim()).toBe(only.content.trim());
      const failing = await hearthAs(alice, world.ws, daemon.paths.socket, ['ssh', 'web', '--', 'sh', '-c', 'exit 7']);
      expect(failing.exitCode).toBe(7);
      expect(await sshOk('web', 'git -C /workspace/app log -1 --format=%H')).toBe(feature);
      expect(await sshOk('web', 'git -C /workspace/app config user.email')).toBe('alice@example.test');

      // A commit made in the guest is pushed with the same helper, and the server has it.
      await sshOk(
        'web',
        'cd /workspace/app && echo pushed > from-the-guest.txt && git add from-the-guest.txt && ' +
          "git commit -q -m 'from the guest over https' && git push -q origin HEAD:feature",
      );
      expect((await git.log('app', 'feature'))[0]).toMatchObject({ subject: 'from the guest over https' });

      // A branch the server does not have: the check says so, and a create with it fails with git's words.
      await create(alice, { name: 'nobranch', repository: url, ref: 'no-such-branch' });
      const missing = await settle('nobranch');
      expect(missing.state).toBe('failed');
      expect(missing.reason).toMatch(/the repository could not be cloned: .*no-such-branch/);
      await api(alice, 'DELETE', '/v1/environments/nobranch');
      names.splice(names.indexOf('nobranch'), 1);
    },
    BOOT_MS * 3,
  );

  it(
    'answers the credential helper only for the repository: never another host, path or member, never another guest user',
    async () => {
      // bob has a token for a second host; alice's guest asks for it, and for another path on A.
      await addCredential(bob, { host: WORLD.thirdHost, kind: 'token', token: 'bobs-token-for-host-b' });
      canary.secret("bob's token", 'bobs-token-for-host-b');
      const fill = (host: string, path: string) =>
        ssh(
          'web',
          `printf 'protocol=https\\nhost=${host}\\npath=${path}\\n\\n' | GIT_TERMINAL_PROMPT=0 git credential fill`,
        );
      for (const [host, path] of [
        [WORLD.thirdHost, 'app.git'],
        [WORLD.internetHost, 'other.git'],
      ] as const) {
        const run = await fill(host, path);
        expect(run.stdout, `${host}/${path}`).not.toMatch(/password=/);
      }
      // The helper does answer for the repository itself (so the refusals above are refusals).
      expect((await fill(WORLD.internetHost, 'app.git')).stdout).toContain(`password=${git.https.token}`);

      // A second guest user (not dev, not root) reaches neither socket.
      await sshOk('web', 'id mallory >/dev/null 2>&1 || sudo useradd -m mallory');
      for (const socket of ['/run/hearth/git-credential.sock', '/run/hearth/ssh-agent.sock']) {
        const run = await ssh(
          'web',
          `sudo -u mallory python3 -c "import socket; s = socket.socket(socket.AF_UNIX); s.connect('${socket}'); s.sendall(b'get\\n\\n'); print('got', s.recv(100))"`,
        );
        expect(run.exitCode, `${socket}: ${run.stdout}`).not.toBe(0);
        expect(run.stdout).not.toContain('got');
      }
    },
    STEP_MS,
  );

  it(
    'SSH: a generated key, a host key confirmed once, a clone through the relayed agent that signs for nothing else',
    async () => {
      const url = git.ssh.url('app');
      const key = await addCredential(alice, { host: WORLD.internetHost, kind: 'ssh-key' });
      expect(key.publicKey).toMatch(/^ssh-ed25519 /);
      await git.ssh.authorize(key.publicKey!);

      const unknown = await check(alice, url, 'feature');
      expect(unknown).toMatchObject({ ok: false, code: 'host-key-unknown' });
      expect(unknown.hostKey?.publicKey).toBe(git.ssh.hostKey);
      const confirmed = await api(alice, 'POST', '/v1/git-host-keys', {
        host: WORLD.internetHost,
        publicKey: unknown.hostKey!.publicKey,
      });
      expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
      const feature = await git.head('app', 'feature');
      expect(await check(alice, url, 'feature')).toMatchObject({ ok: true, commit: feature });

      await create(alice, { name: 'api', repository: url, ref: 'feature' });
      const env = await running('api');
      expect(env.repository).toMatchObject({ commit: await git.head('app', 'feature') });
      expect(await sshOk('api', 'git -C /workspace/app log -1 --format=%H')).toBe(env.repository!.commit);
      await sshOk(
        'api',
        'cd /workspace/app && git commit -q --allow-empty -m "from the guest over ssh" && git push -q origin HEAD:feature',
      );
      expect((await git.log('app', 'feature'))[0]).toMatchObject({ subject: 'from the guest over ssh' });

      // The relayed agent: nothing but a login to the repository's host, pinned.
      const agent = 'SSH_AUTH_SOCK=/run/hearth/ssh-agent.sock';
      const offered = await sshOk('api', `${agent} ssh-add -L | tee /tmp/k.pub`);
      expect(offered.split(' ').slice(0, 2)).toEqual(key.publicKey!.split(' ').slice(0, 2));
      const sign = await ssh('api', `echo data > /tmp/d && ${agent} ssh-keygen -Y sign -f /tmp/k.pub -n file /tmp/d`);
      expect(sign.exitCode, sign.stderr).not.toBe(0);
      const elsewhere = await ssh(
        'api',
        'ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentityAgent=/run/hearth/ssh-agent.sock dev@127.0.0.1 true',
      );
      expect(elsewhere.exitCode).not.toBe(0);
      expect(elsewhere.stderr).toMatch(/Permission denied/);

      // A changed host key is refused, by the check and in the guest alike.
      await git.ssh.rotateHostKey();
      expect((await check(alice, url)).code).toBe('host-key-changed');
      const fetch = await ssh('api', 'git -C /workspace/app fetch -q origin');
      expect(fetch.exitCode).not.toBe(0);
      expect(fetch.stderr).toMatch(/HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    },
    BOOT_MS + STEP_MS,
  );

  it(
    'leaves no trace of the token or the key anywhere they do not belong',
    async () => {
      canary.privateKey('the SSH private key', await daemonSecretKey());
      canary.sawEvents();
      canary.sawLog(daemon.output.join('\n'));
      for (const name of names) {
        const env = await client.call('getEnvironment', { params: { id: name } });
        canary.sawApi(JSON.stringify(env));
        await canary.sawVmm(env);
        await canary.sawEnvironmentFiles(daemon.paths, env.id);
        if (env.state === 'running')
          for (const [what, command] of [
            ['.git/config', 'cat /workspace/app/.git/config'],
            ['/var/lib/cloud', 'sudo grep -r -a -h . /var/lib/cloud 2>/dev/null | head -c 20000000'],
            ['cloud-init logs', 'sudo cat /var/log/cloud-init.log /var/log/cloud-init-output.log'],
          ] as const)
            canary.sawText(`${name}: ${what}`, (await ssh(name, command, 300_000)).stdout);
      }
      await canary.sawWorldReadable([daemon.paths.dir]);
      expect(canary.leaks()).toEqual([]);
      expect(canary.looked()).toBeGreaterThan(10);
    },
    STEP_MS * 2,
  );

  /** The private key as hearthd keeps it (read as root from its store: the canary's needle). */
  async function daemonSecretKey(): Promise<string> {
    const file = join(daemon.paths.stateDir, 'repositories', String(alice.uid), 'credentials.json');
    const stored = JSON.parse(await readFile(file, 'utf8')) as {
      credentials: { kind: string; privateKeyPem?: string }[];
    };
    const pem = stored.credentials.find((c) => c.kind === 'ssh-key')?.privateKeyPem;
    if (!pem) throw new Error(`no SSH key in ${file}`);
    return pem;
  }
});
