import { readdir, readFile } from 'node:fs/promises';
import { chmod } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessCheck, type Credential } from '#protocol';
import { startGitServer, type GitServer } from './support/git-server/index.js';
import { lookupUser } from '../src/system/passwd.js';
import { HearthdProcess, makePaths, TEST_GIT_USER } from './support/hearthd-process.js';
import { requestAs, type Answer } from './support/request-as.js';
import { eventually } from './support/eventually.js';
import { assertMatches } from './support/schema.js';
import { NEEDS_ROOT, skipWhen } from './support/skip.js';

/** Live processes whose real uid is `uid`, from /proc (no procps needed). */
async function processesOf(uid: number): Promise<Array<{ pid: string; argv: string[] }>> {
  const found: Array<{ pid: string; argv: string[] }> = [];
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    try {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      if (/^State:\s+Z/m.test(status) || Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) !== uid) continue;
      found.push({ pid, argv: (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean) });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
const ANN = 4321;
const BOB = 4322;
const TIMEOUT_MS = 4_000;

/**
 * hearthd's access check against a real Git server (git http-backend behind HTTPS with a test CA
 * and a token; sshd with a key-only git-shell login) on 127.0.0.1: every outcome the API names,
 * from git's and ssh's real words; git run as the test git user, with nothing secret in its
 * command line or environment, and nothing of it left afterwards.
 */
describe('checking repository access', skipWhen(NEEDS_ROOT), () => {
  let daemon: HearthdProcess;
  let server: GitServer;
  let silent: Server;
  const held: Socket[] = [];
  const answers: Answer[] = [];
  const as = async (uid: number, method: string, path: string, body?: unknown): Promise<Answer> => {
    const answer = await requestAs(daemon.paths.socket, uid, method, path, body);
    answers.push(answer);
    return answer;
  };
  const check = async (uid: number, repository: string, ref?: string): Promise<AccessCheck> => {
    const answer = await as(uid, 'POST', '/v1/repositories/check', { repository, ...(ref && { ref }) });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    assertMatches(AccessCheck, answer.body);
    return answer.body as AccessCheck;
  };
  const host = () => `127.0.0.1:${server.https.port}`;
  const sshHost = () => `127.0.0.1:${server.ssh.port}`;
  const addToken = async (uid: number, token: string, ca: boolean) =>
    (
      await as(uid, 'POST', '/v1/credentials', {
        host: host(),
        kind: 'token',
        token,
        ...(ca && { caCertificate: server.https.caPem }),
      })
    ).body as Credential;

  beforeAll(async () => {
    server = await startGitServer();
    await server.createRepository('app');
    // Accepts connections and never says a word: git waits until hearthd's timeout ends it.
    silent = createServer((socket) => held.push(socket));
    await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
    daemon = await HearthdProcess.start(await makePaths('hearthd-check-'), [
      '--test-git-timeout-ms',
      String(TIMEOUT_MS),
    ]);
    await chmod(daemon.paths.socket, 0o666); // this daemon serves this test only
  }, 120_000);
  afterAll(async () => {
    for (const socket of held) socket.destroy();
    silent.close();
    await daemon.dispose();
    await server.stop();
  });

  it('reaches an HTTPS repository with a token and its CA: branches, default, ref, commit', async () => {
    const credential = await addToken(ANN, server.https.token, true);
    const main = await server.head('app', 'main');
    const feature = await server.head('app', 'feature');

    const byDefault = await check(ANN, server.https.url('app'));
    expect(byDefault).toMatchObject({
      ok: true,
      code: 'ok',
      credentialId: credential.id,
      defaultBranch: 'main',
      ref: 'main',
      commit: main,
      hostKey: null,
    });
    expect(byDefault.branches).toEqual(['feature', 'main']);
    expect(await check(ANN, server.https.url('app'), 'feature')).toMatchObject({
      ok: true,
      ref: 'feature',
      commit: feature,
    });
    expect(await check(ANN, server.https.url('app'), feature)).toMatchObject({ ok: true, commit: feature });
    expect(await check(ANN, server.https.url('app'), 'no-such-branch')).toMatchObject({
      ok: false,
      code: 'ref-not-found',
      branches: ['feature', 'main'],
    });
    expect(await check(ANN, server.https.url('missing'))).toMatchObject({ ok: false, code: 'repository-not-found' });

    const listed = (await as(ANN, 'GET', '/v1/credentials')).body.credentials as Credential[];
    expect(listed.find((c) => c.id === credential.id)?.lastCheck).toMatchObject({
      code: 'repository-not-found',
      repository: server.https.url('missing'),
    });
  }, 120_000);

  it('says when the token is refused, the CA is missing, or there is no credential', async () => {
    await addToken(BOB, 'hgt_wrong_token_for_the_canary', true);
    expect(await check(BOB, server.https.url('app'))).toMatchObject({ ok: false, code: 'auth-refused' });
    await addToken(BOB, server.https.token, false);
    const untrusted = await check(BOB, server.https.url('app'));
    expect(untrusted).toMatchObject({ ok: false, code: 'tls-untrusted' });
    expect(untrusted.message).toContain('CA certificate');
    // Root has no credential for that host, so no CA either: the server's certificate is not trusted.
    const anonymous = await check(0, server.https.url('app'));
    expect(anonymous).toMatchObject({ ok: false, code: 'tls-untrusted', credentialId: null });
    expect(anonymous.message).toContain('add a token');
  }, 120_000);

  it('refuses to follow a redirect to another place', async () => {
    const moved = await check(ANN, server.https.movedUrl('app'));
    expect(moved.ok).toBe(false);
    expect(moved.message).toMatch(/302|redirect/i);
    expect(moved.branches).toEqual([]);
  }, 60_000);

  it('pins an SSH host key on confirmation, then reaches the repository; a changed key is refused', async () => {
    const key = (await as(ANN, 'POST', '/v1/credentials', { host: sshHost(), kind: 'ssh-key' })).body as Credential;
    await server.ssh.authorize(key.publicKey!);

    const unknown = await check(ANN, server.ssh.url('app'));
    expect(unknown).toMatchObject({ ok: false, code: 'host-key-unknown', credentialId: key.id });
    expect(unknown.hostKey?.publicKey).toBe(server.ssh.hostKey);
    expect(unknown.hostKey?.fingerprint).toMatch(/^SHA256:/);

    const confirmed = await as(ANN, 'POST', '/v1/git-host-keys', {
      host: sshHost(),
      publicKey: unknown.hostKey!.publicKey,
    });
    expect(confirmed.status).toBe(200);
    expect(await check(ANN, server.ssh.url('app'), 'feature')).toMatchObject({
      ok: true,
      code: 'ok',
      commit: await server.head('app', 'feature'),
      defaultBranch: 'main',
    });

    const rotated = await server.ssh.rotateHostKey();
    const changed = await check(ANN, server.ssh.url('app'));
    expect(changed).toMatchObject({ ok: false, code: 'host-key-changed' });
    expect(changed.hostKey?.publicKey).toBe(rotated);
    await as(ANN, 'POST', '/v1/git-host-keys', { host: sshHost(), publicKey: rotated });
    expect(await check(ANN, server.ssh.url('app'))).toMatchObject({
      ok: true,
      commit: await server.head('app', 'main'),
    });
  }, 120_000);

  it("refuses a member's SSH key the server does not know, and another member's pinned key is not theirs", async () => {
    await as(BOB, 'POST', '/v1/credentials', { host: sshHost(), kind: 'ssh-key' });
    // Bob never confirmed the host key Ann trusts.
    expect(await check(BOB, server.ssh.url('app'))).toMatchObject({ ok: false, code: 'host-key-unknown' });
    await as(BOB, 'POST', '/v1/git-host-keys', { host: sshHost(), publicKey: server.ssh.hostKey });
    expect(await check(BOB, server.ssh.url('app'))).toMatchObject({ ok: false, code: 'auth-refused' });
  }, 120_000);

  it('says when a host is unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const { port } = closed.address() as AddressInfo;
    await new Promise((done) => closed.close(done));
    expect(await check(ANN, `https://127.0.0.1:${port}/team/app.git`)).toMatchObject({
      ok: false,
      code: 'unreachable',
    });
  }, 60_000);

  it('ends a check that hangs, as the git user, with no secret in its command line or environment, and leaves nothing', async () => {
    const { port } = silent.address() as AddressInfo;
    const token = 'hgt_canary_of_the_hanging_check';
    await as(ANN, 'POST', '/v1/credentials', { host: `127.0.0.1:${port}`, kind: 'token', token });
    // Three at once is a member's share; a fourth waits for none of them and is refused.
    const pending = [1, 2, 3].map(() => check(ANN, `https://127.0.0.1:${port}/team/app.git`));

    const gitUid = (await lookupUser(TEST_GIT_USER))!.uid;
    const ours = await eventually(
      async () => {
        const found = (await processesOf(gitUid)).filter((p) =>
          p.argv.includes(`https://127.0.0.1:${port}/team/app.git`),
        );
        // The three checks' git, and each one's git-remote-https, which holds the connection.
        return found.filter((p) => p.argv[0]!.endsWith('git')).length >= 3 ? found : undefined;
      },
      { what: "the three checks' git processes", timeoutMs: TIMEOUT_MS },
    );
    expect(
      await as(ANN, 'POST', '/v1/repositories/check', { repository: `https://127.0.0.1:${port}/team/app.git` }),
    ).toMatchObject({ status: 409, body: { code: 'conflict' } });
    for (const { pid, argv } of ours) {
      const cmdline = argv.join(' ');
      const environ = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0').filter(Boolean);
      expect(cmdline).not.toContain(token);
      expect(environ.join('\n')).not.toContain(token);
      // hearthd's environment exactly (git adds only its own GIT_* for its helpers).
      const names = environ.map((e) => e.split('=')[0]!);
      const ours = ['PATH', 'HOME', 'LC_ALL', 'GIT_TERMINAL_PROMPT', 'GIT_CONFIG_NOSYSTEM', 'GIT_CONFIG_GLOBAL'];
      expect(names).toEqual(expect.arrayContaining(ours));
      expect(names.filter((n) => !ours.includes(n) && !n.startsWith('GIT_'))).toEqual([]);
      expect(environ).toContain('GIT_TERMINAL_PROMPT=0');
      expect(environ).toContain('GIT_CONFIG_GLOBAL=/dev/null');
    }

    for (const answer of await Promise.all(pending)) expect(answer).toMatchObject({ ok: false, code: 'timeout' });
    // Killed with its whole process group: within moments nothing runs as the git user.
    await eventually(async () => (await processesOf(gitUid)).length === 0, {
      what: 'no process of the git user left',
      timeoutMs: 5_000,
    });
    expect(await readdir(join(daemon.paths.stateDir, 'git-check'))).toEqual([]);
  }, 60_000);

  it('never shows a token or a private key: not in answers, not in its log', () => {
    const everything = JSON.stringify(answers) + daemon.output.join('\n');
    for (const secret of [
      server.https.token,
      'hgt_wrong_token_for_the_canary',
      'hgt_canary_of_the_hanging_check',
      'PRIVATE KEY',
    ])
      expect(everything.includes(secret), secret).toBe(false);
  });
});
