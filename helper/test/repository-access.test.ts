import { hostname } from 'node:os';
import { chmod, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessCheck, Credential, CredentialList, GitHostKeyList, Profile } from '#protocol';
import { HearthdProcess, makePaths } from './support/hearthd-process.js';
import { requestAs, type Answer } from './support/request-as.js';
import { assertMatches } from './support/schema.js';
import { NEEDS_ROOT, skipWhen } from './support/skip.js';

const run = promisify(execFile);
const ANN = 4321;
const BOB = 65534;
const TOKEN = 'hearth-canary-token-5d1c0e7a9b';

/**
 * Repository access through the real socket, as two members and root: each sees and changes only
 * their own profile, credentials and trusted host keys; secrets go in and never come out; a URL
 * git could misread is a 400 before anything runs. Checks against a real Git server are in
 * repository-check.test.ts.
 */
describe('repository access', skipWhen(NEEDS_ROOT), () => {
  let daemon: HearthdProcess;
  let CA: string;
  const answers: Answer[] = [];
  const as = async (uid: number, method: string, path: string, body?: unknown): Promise<Answer> => {
    const answer = await requestAs(daemon.paths.socket, uid, method, path, body);
    answers.push(answer);
    return answer;
  };

  beforeAll(async () => {
    const { stdout } = await run('sh', [
      '-c',
      'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj /CN=test-ca -days 1 2>/dev/null',
    ]);
    CA = stdout;
    daemon = await HearthdProcess.start(await makePaths('hearthd-repos-'));
    await chmod(daemon.paths.socket, 0o666); // this daemon serves this test only
  }, 60_000);
  afterAll(async () => {
    await daemon.dispose();
  });

  it("keeps each member's profile to themselves", async () => {
    expect((await as(ANN, 'GET', '/v1/me/profile')).body).toEqual({ gitName: null, gitEmail: null });
    const put = await as(ANN, 'PUT', '/v1/me/profile', { gitName: 'Ann Example', gitEmail: 'ann@example.com' });
    expect(put.status).toBe(200);
    assertMatches(Profile, put.body);
    expect((await as(ANN, 'GET', '/v1/me/profile')).body).toEqual({
      gitName: 'Ann Example',
      gitEmail: 'ann@example.com',
    });
    expect((await as(BOB, 'GET', '/v1/me/profile')).body).toEqual({ gitName: null, gitEmail: null });
    expect((await as(0, 'GET', '/v1/me/profile')).body).toEqual({ gitName: null, gitEmail: null });
    const bad = await as(ANN, 'PUT', '/v1/me/profile', { gitName: 'Ann\nX', gitEmail: 'not an email' });
    expect(bad).toMatchObject({ status: 400, body: { code: 'invalid-request' } });
    expect((await as(ANN, 'GET', '/v1/me/profile')).body).toMatchObject({ gitName: 'Ann Example' });
  });

  it('takes a token and a generated SSH key per host, shows neither secret, and only to their owner', async () => {
    const token = await as(ANN, 'POST', '/v1/credentials', {
      host: 'git.example.com:8443',
      kind: 'token',
      token: TOKEN,
      username: 'ann',
      caCertificate: CA,
    });
    expect(token.status).toBe(201);
    assertMatches(Credential, token.body);
    expect(token.body).toMatchObject({
      host: 'git.example.com:8443',
      kind: 'token',
      username: 'ann',
      publicKey: null,
      fingerprint: null,
      caCertificate: true,
      lastCheck: null,
    });
    expect(token.body.id).toMatch(/^cred-[0-9a-f]{12}$/);

    const key = await as(BOB, 'POST', '/v1/credentials', { host: 'git.example.com:8443', kind: 'ssh-key' });
    expect(key.status).toBe(201);
    assertMatches(Credential, key.body);
    const machine = hostname().replace(/[^A-Za-z0-9._@+-]/g, '');
    expect(key.body.publicKey).toMatch(
      new RegExp(
        `^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5[A-Za-z0-9+/]+ hearth nobody@${machine.replace(/\./g, '\\.')} git\\.example\\.com:8443$`,
      ),
    );
    expect(key.body.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);

    const annList = await as(ANN, 'GET', '/v1/credentials');
    assertMatches(CredentialList, annList.body);
    expect((annList.body.credentials as Credential[]).map((c) => c.id)).toEqual([token.body.id]);
    expect(((await as(BOB, 'GET', '/v1/credentials')).body.credentials as Credential[]).map((c) => c.id)).toEqual([
      key.body.id,
    ]);
    // Root too sees only root's own: secrets are personal, not the machine's.
    expect((await as(0, 'GET', '/v1/credentials')).body).toEqual({ credentials: [] });
    // Another's credential is "not found", and stays.
    expect(await as(BOB, 'DELETE', `/v1/credentials/${String(token.body.id)}`)).toMatchObject({
      status: 404,
      body: { code: 'not-found' },
    });
    expect(await as(0, 'DELETE', `/v1/credentials/${String(token.body.id)}`)).toMatchObject({ status: 404 });
    expect((await as(ANN, 'GET', '/v1/credentials')).body.credentials).toHaveLength(1);
  });

  it('replaces the credential of the same host and kind, and deletes on request', async () => {
    const first = await as(ANN, 'POST', '/v1/credentials', { host: 'gitlab.com', kind: 'token', token: 'first-token' });
    const second = await as(ANN, 'POST', '/v1/credentials', {
      host: 'gitlab.com',
      kind: 'token',
      token: 'second-token',
    });
    expect(second.body.id).not.toBe(first.body.id);
    const listed = (await as(ANN, 'GET', '/v1/credentials')).body.credentials as Credential[];
    expect(listed.filter((c) => c.host === 'gitlab.com').map((c) => c.id)).toEqual([second.body.id]);
    const afterDelete = await as(ANN, 'DELETE', `/v1/credentials/${String(second.body.id)}`);
    expect(afterDelete.status).toBe(200);
    expect((afterDelete.body.credentials as Credential[]).some((c) => c.host === 'gitlab.com')).toBe(false);
  });

  it('refuses credentials the schema does not allow', async () => {
    for (const body of [
      { host: 'GitHub.com', kind: 'token', token: 'x' },
      { host: 'github.com', kind: 'token', token: 'has space' },
      { host: 'github.com', kind: 'token', token: 'x\ny' },
      { host: 'github.com', kind: 'token', token: 'x', username: 'a\nb' },
      { host: 'github.com', kind: 'ssh-key', privateKey: 'mine' },
      { host: 'github.com', kind: 'password', token: 'x' },
      { host: '-oProxyCommand=x', kind: 'ssh-key' },
      { host: 'github.com', kind: 'token', token: 'x', caCertificate: 'not a certificate' },
    ])
      expect(await as(ANN, 'POST', '/v1/credentials', body), JSON.stringify(body)).toMatchObject({
        status: 400,
        body: { code: 'invalid-request' },
      });
  });

  it('takes a bundle of CA certificates, and refuses one that does not parse', async () => {
    const bundle = await as(BOB, 'POST', '/v1/credentials', {
      host: 'bundle.example',
      kind: 'token',
      token: 't',
      caCertificate: `${CA}${CA}`,
    });
    expect(bundle).toMatchObject({ status: 201, body: { caCertificate: true } });
    const garbage = '-----BEGIN CERTIFICATE-----\nMIIBdGVzdA==\n-----END CERTIFICATE-----\n';
    expect(
      await as(ANN, 'POST', '/v1/credentials', {
        host: 'x.example',
        kind: 'token',
        token: 't',
        caCertificate: garbage,
      }),
    ).toMatchObject({ status: 422, body: { code: 'unprocessable' } });
  });

  it('keeps the secrets root-only on disk (0700 folders, 0600 files)', async () => {
    const root = join(daemon.paths.stateDir, 'repositories');
    const top = await stat(root);
    expect([top.uid, top.mode & 0o777]).toEqual([0, 0o700]);
    for (const uid of [String(ANN), String(BOB)]) {
      const dir = await stat(join(root, uid));
      expect([dir.uid, dir.mode & 0o777]).toEqual([0, 0o700]);
      for (const name of await readdir(join(root, uid))) {
        const file = await stat(join(root, uid, name));
        expect([name, file.uid, file.mode & 0o777]).toEqual([name, 0, 0o600]);
      }
    }
    // The token is kept (hearthd needs it), there and nowhere else.
    expect(await readFile(join(root, String(ANN), 'credentials.json'), 'utf8')).toContain(TOKEN);
  });

  it('pins the big hosts’ published keys for everyone and confirmed keys per owner', async () => {
    const initial = await as(BOB, 'GET', '/v1/git-host-keys');
    assertMatches(GitHostKeyList, initial.body);
    const hosts = (initial.body.hostKeys as Array<{ host: string; source: string }>).map(
      (k) => `${k.host}/${k.source}`,
    );
    expect(new Set(hosts)).toEqual(
      new Set(['github.com/preloaded', 'gitlab.com/preloaded', 'bitbucket.org/preloaded']),
    );

    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
    const confirmed = await as(BOB, 'POST', '/v1/git-host-keys', { host: 'git.example.com:2222', publicKey: key });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.hostKeys).toContainEqual({
      host: 'git.example.com:2222',
      publicKey: key,
      fingerprint: 'SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU',
      source: 'confirmed',
      confirmedAt: expect.any(String) as string,
    });
    const annKeys = (await as(ANN, 'GET', '/v1/git-host-keys')).body.hostKeys as Array<{ host: string }>;
    expect(annKeys.some((k) => k.host === 'git.example.com:2222')).toBe(false);
    // A key whose blob is another type than it claims is refused; so is anything but a key.
    expect(
      await as(BOB, 'POST', '/v1/git-host-keys', {
        host: 'h.example',
        publicKey: key.replace('ssh-ed25519', 'ssh-rsa'),
      }),
    ).toMatchObject({ status: 422 });
    expect(
      await as(BOB, 'POST', '/v1/git-host-keys', { host: 'h.example', publicKey: `${key}\nevil.example ${key}` }),
    ).toMatchObject({ status: 400 });
  });

  it('refuses every URL git could misread with a 400 naming repository, before anything runs', async () => {
    for (const repository of [
      '/srv/git/repo.git',
      './repo',
      'file:///etc/passwd',
      'git://example.com/repo.git',
      'ext::sh -c touch% /tmp/pwned',
      'fd::17',
      'http://example.com/repo.git',
      'https://ann:token@example.com/repo.git',
      'https://example.com/-oProxyCommand=x/repo.git',
      'ssh://-oProxyCommand=touch/repo.git',
      'git@-oProxyCommand=x:y.git',
      '--upload-pack=touch /tmp/x',
      'https://example.com:70000/repo.git',
      'https://exa mple.com/repo.git',
    ]) {
      const answer = await as(ANN, 'POST', '/v1/repositories/check', { repository });
      expect(answer, repository).toMatchObject({ status: 400, body: { code: 'invalid-request' } });
      expect((answer.body.details as Array<{ path: string }>)[0]?.path, repository).toBe('/repository');
    }
    expect(
      await as(ANN, 'POST', '/v1/repositories/check', {
        repository: 'https://example.com/r.git',
        ref: '--upload-pack=x',
      }),
    ).toMatchObject({ status: 400 });
    // Nothing ran: no scratch directory was ever made.
    await expect(readdir(join(daemon.paths.stateDir, 'git-check'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('checks access for real: unreachable, unresolvable, and SSH without a key', async () => {
    const refused = await as(ANN, 'POST', '/v1/repositories/check', { repository: 'https://127.0.0.1:1/team/app.git' });
    expect(refused.status).toBe(200);
    assertMatches(AccessCheck, refused.body);
    expect(refused.body).toMatchObject({ ok: false, code: 'unreachable', credentialId: null });

    const unknown = await as(ANN, 'POST', '/v1/repositories/check', {
      repository: 'https://no-such-host.invalid/a/b.git',
    });
    expect(unknown.body).toMatchObject({ ok: false, code: 'unknown-host' });

    const noKey = await as(ANN, 'POST', '/v1/repositories/check', { repository: 'git@127.0.0.1:team/app.git' });
    expect(noKey.body).toMatchObject({ ok: false, code: 'no-credential' });

    // With Ann's token for that host: the check is recorded on the credential.
    const withToken = await as(ANN, 'POST', '/v1/repositories/check', {
      repository: 'https://git.example.com:8443/team/app.git',
    });
    expect(['unknown-host', 'unreachable']).toContain(withToken.body.code);
    expect(withToken.body.credentialId).toMatch(/^cred-/);
    const listed = (await as(ANN, 'GET', '/v1/credentials')).body.credentials as Credential[];
    expect(listed.find((c) => c.id === withToken.body.credentialId)?.lastCheck).toMatchObject({
      code: withToken.body.code,
      repository: 'https://git.example.com:8443/team/app.git',
    });
    // Every scratch directory is gone again.
    expect(await readdir(join(daemon.paths.stateDir, 'git-check'))).toEqual([]);
  }, 120_000);

  it('never shows a secret: not in any answer, not in its log', () => {
    const everything = JSON.stringify(answers) + daemon.output.join('\n');
    for (const secret of [TOKEN, 'first-token', 'second-token', 'PRIVATE KEY', CA.split('\n')[1]!])
      expect(everything.includes(secret), secret).toBe(false);
    expect(daemon.logs().some((entry) => entry.msg === 'access check' && typeof entry.code === 'string')).toBe(true);
  });
});
