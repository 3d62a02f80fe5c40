import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessCheck, GitHostKeyList } from '#protocol';
import { startGitServer, type GitServer } from '../../helper/test/support/git-server/index.js';
import { HearthdProcess, makePaths, type HearthdPaths } from '../../helper/test/support/hearthd-process.js';
import { NEEDS_ROOT, skipWhen } from '../../helper/test/support/skip.js';
import { expectValid, hearthAsRoot } from './support/run-cli.js';

/**
 * `hearth access` against a real Git server on 127.0.0.1 (git http-backend behind HTTPS with a
 * test CA and a token; sshd with a key-only git-shell login): a check that succeeds shows the
 * branches, default branch and commit; an SSH host's key is trusted only after its fingerprint.
 */
describe('hearth access against a real Git server', skipWhen(NEEDS_ROOT), () => {
  let server: GitServer;
  let paths: HearthdPaths;
  let daemon: HearthdProcess;
  const hearth = (...args: string[]) => hearthAsRoot(paths.socket, args);

  beforeAll(async () => {
    server = await startGitServer();
    await server.createRepository('app');
    paths = await makePaths('hearth-cli-access-');
    daemon = await HearthdProcess.start(paths);
  }, 120_000);
  afterAll(async () => {
    await daemon.dispose();
    await server.stop();
    await rm(paths.dir, { recursive: true, force: true });
  });

  it('adds a token with its CA file and checks an HTTPS repository: branches, default, ref, commit', async () => {
    const host = `127.0.0.1:${server.https.port}`;
    const added = await hearthAsRoot(
      paths.socket,
      ['access', 'add', host, '--token-stdin', '--ca-cert', server.https.caFile],
      { input: `${server.https.token}\n` },
    );
    expect(added.exitCode, added.stderr).toBe(0);
    const url = server.https.url('app');
    const check = await hearth('access', 'check', url);
    expect(check.exitCode, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/^default +main$/m);
    expect(check.stdout).toMatch(/^ref +main$/m);
    expect(check.stdout).toMatch(new RegExp(`^commit +${await server.head('app', 'main')}$`, 'm'));
    expect(check.stdout).toMatch(/^branches +feature main$/m);
    const feature = await hearth('access', 'check', url, '--ref', 'feature', '--json');
    expect(feature.exitCode, feature.stderr).toBe(0);
    const answer = JSON.parse(feature.stdout) as AccessCheck;
    expectValid(AccessCheck, answer);
    expect(answer).toMatchObject({ ok: true, ref: 'feature', commit: await server.head('app', 'feature') });
    const missing = await hearth('access', 'check', url, '--ref', 'no-such-branch');
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/^hearth: ref-not-found: /m);
    expect(`${added.stdout}${added.stderr}${check.stdout}${check.stderr}`).not.toContain(server.https.token);
  });

  it("trusts an SSH host's key only after its fingerprint is confirmed", async () => {
    const host = `127.0.0.1:${server.ssh.port}`;
    const key = await hearth('access', 'add', host, '--ssh-key');
    expect(key.exitCode, key.stderr).toBe(0);
    await server.ssh.authorize(key.stdout.trim());
    const url = server.ssh.url('app');

    const unknown = await hearth('access', 'check', url, '--json');
    expect(unknown.exitCode).toBe(1);
    const offered = (JSON.parse(unknown.stdout) as AccessCheck).hostKey;
    expect(offered?.fingerprint).toMatch(/^SHA256:/);
    const text = await hearth('access', 'check', url);
    expect(text.stderr).toContain('hearth: host-key-unknown: ');
    expect(text.stderr).toContain(`the host offered ${offered?.fingerprint ?? '?'}`);
    expect(text.stderr).toContain('hearth access trust <url>');

    // No terminal to answer on and no fingerprint named: nothing is trusted.
    const unconfirmed = await hearth('access', 'trust', url);
    expect(unconfirmed.exitCode).toBe(2);
    expect(unconfirmed.stderr).toContain('--fingerprint');
    const wrong = await hearth('access', 'trust', url, '--fingerprint', 'SHA256:not-the-one');
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stderr).toContain('nothing trusted');
    expect((await hearth('access', 'check', url)).exitCode).toBe(1);

    const trusted = await hearth('access', 'trust', url, '--fingerprint', offered?.fingerprint ?? '', '--json');
    expect(trusted.exitCode, trusted.stderr).toBe(0);
    const keys = JSON.parse(trusted.stdout) as GitHostKeyList;
    expectValid(GitHostKeyList, keys);
    expect(keys.hostKeys.find((k) => k.host === host)).toMatchObject({
      source: 'confirmed',
      publicKey: offered?.publicKey,
    });
    const ok = await hearth('access', 'check', url, '--ref', 'feature');
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`^commit +${await server.head('app', 'feature')}$`, 'm'));
  }, 60_000);
});
