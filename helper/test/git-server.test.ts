import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanGitEnv, sshCommand, withToken } from './support/git-server/client.js';
import { onlyOnBranch, startGitServer, type GitServer } from './support/git-server/index.js';
import { inNs, Namespaces } from './network/support/topology.js';

/**
 * The test Git server against the real clients: git over HTTPS (curl underneath) and over SSH
 * (OpenSSH), from inside the namespace the server serves in. Run under the machine lock:
 * `flock /tmp/hearth-vm.lock npx vitest run helper/test/git-server.test.ts`.
 */

const ADDRESS = '198.51.100.80';

let nss: Namespaces | undefined;
let ns: string;
let server: GitServer;
let work: string;
let authorizedKey: string;
let strangerKey: string;
let knownHosts: string;

function gitEnv(extra: Record<string, string> = {}): Record<string, string> {
  return cleanGitEnv(work, extra);
}

async function git(args: string[], extra: Record<string, string> = {}, cwd?: string) {
  const result = await execa('ip', ['netns', 'exec', ns, 'git', ...args], {
    env: gitEnv(extra),
    extendEnv: false,
    reject: false,
    timeout: 30_000,
    ...(cwd && { cwd }),
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}

async function newKey(name: string): Promise<string> {
  const file = join(work, name);
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  return file;
}

/** The status line and headers curl sees for `url` (the CA trusted). */
async function headersOf(url: string, user?: string): Promise<string> {
  return inNs(ns, [
    'curl',
    '-sS',
    '-o',
    '/dev/null',
    '-D',
    '-',
    '--cacert',
    server.https.caFile,
    ...(user === undefined ? [] : ['-u', user]),
    url,
  ]);
}

beforeAll(async () => {
  nss = new Namespaces();
  ns = await nss.add('gsrv');
  await inNs(ns, ['ip', 'addr', 'add', `${ADDRESS}/32`, 'dev', 'lo']);
  work = await mkdtemp(join(tmpdir(), 'gitsrv-client-'));
  server = await startGitServer({ netns: ns, address: ADDRESS });
  await server.createRepository('app');
  authorizedKey = await newKey('authorized');
  strangerKey = await newKey('stranger');
  await server.ssh.authorize(await readFile(`${authorizedKey}.pub`, 'utf8'));
  knownHosts = join(work, 'known_hosts');
  await writeFile(knownHosts, `${server.ssh.knownHostsLine()}\n`);
});

afterAll(async () => {
  // beforeAll may have failed before either was made.
  await (server as GitServer | undefined)?.stop();
  await nss?.destroy();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the test Git server over HTTPS', () => {
  it('serves a clone of either branch to a client with the token and the CA', async () => {
    const dest = join(work, 'https-feature');
    const clone = await git([
      '-c',
      `http.sslCAInfo=${server.https.caFile}`,
      'clone',
      '--branch',
      'feature',
      withToken(server.https.url('app'), server.https.token),
      dest,
    ]);
    expect(clone.stderr).not.toMatch(/fatal/);
    expect(clone.exitCode).toBe(0);
    const feature = onlyOnBranch('feature');
    expect(await readFile(join(dest, feature.file), 'utf8')).toBe(feature.content);
    expect(existsSync(join(dest, onlyOnBranch('main').file))).toBe(false);
    expect((await git(['rev-parse', 'HEAD'], {}, dest)).stdout).toBe(await server.head('app', 'feature'));
    expect(await server.head('app', 'main')).not.toBe(await server.head('app', 'feature'));
  });

  it('answers the certificate for its DNS name too', async () => {
    const listed = await git([
      '-c',
      `http.sslCAInfo=${server.https.caFile}`,
      '-c',
      `http.curloptResolve=${server.hostName}:${server.https.port}:${ADDRESS}`,
      'ls-remote',
      withToken(server.https.urlByName('app'), server.https.token),
      'refs/heads/main',
    ]);
    expect(listed.stderr).toBe('');
    expect(listed.stdout).toBe(`${await server.head('app', 'main')}\trefs/heads/main`);
  });

  it('refuses a client without the token, or with a wrong one, with 401 and a Basic challenge', async () => {
    const refused = await git(['-c', `http.sslCAInfo=${server.https.caFile}`, 'ls-remote', server.https.url('app')]);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toMatch(/could not read Username|Authentication failed/);
    const wrong = await git([
      '-c',
      `http.sslCAInfo=${server.https.caFile}`,
      'ls-remote',
      withToken(server.https.url('app'), 'hgt_wrong'),
    ]);
    expect(wrong.exitCode).not.toBe(0);
    expect(wrong.stderr).toMatch(/Authentication failed/);
    const refs = `${server.https.url('app')}/info/refs?service=git-upload-pack`;
    const headers = await headersOf(refs);
    expect(headers).toMatch(/^HTTP\/1\.1 401 /);
    expect(headers).toMatch(/^www-authenticate: Basic realm=/im);
    expect(await headersOf(refs, 'anyone:hgt_wrong')).toMatch(/^HTTP\/1\.1 401 /);
    expect(await headersOf(refs, `anyone:${server.https.token}`)).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('answers 404 for a repository it does not have', async () => {
    const refs = `${server.https.url('nothing')}/info/refs?service=git-upload-pack`;
    expect(await headersOf(refs, `anyone:${server.https.token}`)).toMatch(/^HTTP\/1\.1 404 /);
    const listed = await git([
      '-c',
      `http.sslCAInfo=${server.https.caFile}`,
      'ls-remote',
      withToken(server.https.url('nothing'), server.https.token),
    ]);
    expect(listed.exitCode).not.toBe(0);
    expect(listed.stderr).toMatch(/not found/);
  });

  it('is refused by a client that does not trust its CA', async () => {
    const untrusted = await git(['ls-remote', withToken(server.https.url('app'), server.https.token)]);
    expect(untrusted.exitCode).not.toBe(0);
    expect(untrusted.stderr).toMatch(/certificate/i);
  });

  it('redirects /moved/ to another host, which git refuses to follow when told not to', async () => {
    const headers = await headersOf(`${server.https.movedUrl('app')}/info/refs?service=git-upload-pack`);
    expect(headers).toMatch(/^HTTP\/1\.1 302 /);
    expect(headers).toContain(
      `location: https://${server.hostName}:${server.https.port}/app.git/info/refs?service=git-upload-pack`,
    );
    const listed = await git([
      '-c',
      `http.sslCAInfo=${server.https.caFile}`,
      '-c',
      'http.followRedirects=false',
      'ls-remote',
      withToken(server.https.movedUrl('app'), server.https.token),
    ]);
    expect(listed.exitCode).not.toBe(0);
    expect(listed.stderr).toMatch(/returned error: 302/);
    expect(listed.stdout).toBe('');
  });

  it('hands a gzip-encoded request body to http-backend, which inflates it', async () => {
    const want = await server.head('app', 'main');
    // A protocol v0 fetch request in pkt-lines: want one commit, no capabilities, done.
    const pkt = (line: string): string => `${(line.length + 4).toString(16).padStart(4, '0')}${line}`;
    const body = join(work, 'upload-pack-request.gz');
    await writeFile(body, gzipSync(`${pkt(`want ${want}\n`)}0000${pkt('done\n')}`));
    const answer = await inNs(ns, [
      'curl',
      '-sS',
      '--fail',
      '--cacert',
      server.https.caFile,
      '-u',
      `anyone:${server.https.token}`,
      '-H',
      'Content-Type: application/x-git-upload-pack-request',
      '-H',
      'Content-Encoding: gzip',
      '--data-binary',
      `@${body}`,
      `${server.https.url('app')}/git-upload-pack`,
    ]);
    expect(answer.startsWith('0008NAK\nPACK')).toBe(true);
  });

  it('takes a push from a client with the token', async () => {
    const dest = join(work, 'https-push');
    const url = withToken(server.https.url('app'), server.https.token);
    const ca = ['-c', `http.sslCAInfo=${server.https.caFile}`];
    expect((await git([...ca, 'clone', url, dest])).exitCode).toBe(0);
    await writeFile(join(dest, 'pushed-over-https.txt'), 'hello\n');
    await git(['add', 'pushed-over-https.txt'], {}, dest);
    expect((await git(['commit', '-m', 'over https'], {}, dest)).exitCode).toBe(0);
    const pushed = await git([...ca, 'push', 'origin', 'main'], {}, dest);
    expect(pushed.stderr).not.toMatch(/fatal|error/);
    expect(pushed.exitCode).toBe(0);
    const local = (await git(['rev-parse', 'HEAD'], {}, dest)).stdout;
    expect(await server.head('app', 'main')).toBe(local);
    expect((await server.log('app', 'main'))[0]).toEqual({ sha: local, subject: 'over https', author: 'Client' });
  });
});

describe('the test Git server over SSH', () => {
  it('serves a clone to an authorized key against the pinned host key', async () => {
    const dest = join(work, 'ssh-main');
    const clone = await git(['clone', server.ssh.url('app'), dest], {
      GIT_SSH_COMMAND: sshCommand(authorizedKey, knownHosts),
    });
    expect(clone.stderr).not.toMatch(/fatal/);
    expect(clone.exitCode).toBe(0);
    const main = onlyOnBranch('main');
    expect(await readFile(join(dest, main.file), 'utf8')).toBe(main.content);
    expect(server.ssh.scpUrl('app')).toBe(`hearth-test-gitsrv@${ADDRESS}:${server.dir}/repos/app.git`);
    const scp = await git(['ls-remote', server.ssh.scpUrl('app'), 'refs/heads/feature'], {
      GIT_SSH_COMMAND: sshCommand(authorizedKey, knownHosts),
    });
    expect(scp.stdout).toBe(`${await server.head('app', 'feature')}\trefs/heads/feature`);
  });

  it('refuses another key', async () => {
    const refused = await git(['ls-remote', server.ssh.url('app')], {
      GIT_SSH_COMMAND: sshCommand(strangerKey, knownHosts),
    });
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toMatch(/Permission denied \(publickey\)/);
    // sshd saw the key and refused it (not, say, a connection that never got that far).
    const fingerprint = (await execa('ssh-keygen', ['-l', '-f', `${strangerKey}.pub`])).stdout.split(' ')[1];
    expect(fingerprint).toMatch(/^SHA256:/);
    expect(server.logs().sshd).toContain(`Failed publickey for hearth-test-gitsrv from ${ADDRESS}`);
    expect(server.logs().sshd).toContain(`ED25519 ${fingerprint}`);
  });

  it('gives an authorized key no shell and no forwarding', async () => {
    const ssh = sshCommand(authorizedKey, knownHosts).split(' ');
    const shell = await execa(
      'ip',
      ['netns', 'exec', ns, ...ssh, '-p', String(server.ssh.port), `${server.ssh.user}@${ADDRESS}`, 'id'],
      {
        reject: false,
        extendEnv: false,
        env: { PATH: '/usr/bin:/bin', HOME: work },
      },
    );
    // Logged in (the key is good), but the login shell is git-shell, which runs only git's commands.
    expect(shell.exitCode).not.toBe(0);
    expect(shell.stderr).toMatch(/unrecognized command 'id'/);
    expect(shell.stdout).toBe('');
    const forward = await execa(
      'ip',
      [
        'netns',
        'exec',
        ns,
        ...ssh,
        '-p',
        String(server.ssh.port),
        '-o',
        'ExitOnForwardFailure=yes',
        '-N',
        '-W',
        `${ADDRESS}:${server.https.port}`,
        `${server.ssh.user}@${ADDRESS}`,
      ],
      { reject: false, extendEnv: false, env: { PATH: '/usr/bin:/bin', HOME: work }, timeout: 10_000, input: '' },
    );
    expect(forward.exitCode).not.toBe(0);
    expect(forward.stderr).toMatch(/administratively prohibited|forwarding disabled|refused/i);
  });

  it('takes a push from an authorized key', async () => {
    const dest = join(work, 'ssh-push');
    const env = { GIT_SSH_COMMAND: sshCommand(authorizedKey, knownHosts) };
    expect((await git(['clone', '--branch', 'feature', server.ssh.url('app'), dest], env)).exitCode).toBe(0);
    await writeFile(join(dest, 'pushed-over-ssh.txt'), 'hello\n');
    await git(['add', 'pushed-over-ssh.txt'], {}, dest);
    expect((await git(['commit', '-m', 'over ssh'], {}, dest)).exitCode).toBe(0);
    const pushed = await git(['push', 'origin', 'feature'], env, dest);
    expect(pushed.stderr).not.toMatch(/fatal|error/);
    expect(pushed.exitCode).toBe(0);
    const local = (await git(['rev-parse', 'HEAD'], {}, dest)).stdout;
    expect(await server.head('app', 'feature')).toBe(local);
    expect((await server.log('app', 'feature')).map((e) => e.subject)).toEqual([
      'over ssh',
      'app: feature',
      'app: start',
    ]);
  });

  it('presents a new host key after rotateHostKey, which a pinned client refuses', async () => {
    const before = server.ssh.hostKey;
    const after = await server.ssh.rotateHostKey();
    expect(after).toMatch(/^ssh-ed25519 [A-Za-z0-9+/]+=*$/);
    expect(after).not.toBe(before);
    expect(server.ssh.hostKey).toBe(after);
    const refused = await git(['ls-remote', server.ssh.url('app')], {
      GIT_SSH_COMMAND: sshCommand(authorizedKey, knownHosts),
    });
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED/);
    const repinned = join(work, 'known_hosts.new');
    await writeFile(repinned, `${server.ssh.knownHostsLine()}\n`);
    const accepted = await git(['ls-remote', server.ssh.url('app'), 'refs/heads/main'], {
      GIT_SSH_COMMAND: sshCommand(authorizedKey, repinned),
    });
    expect(accepted.exitCode).toBe(0);
    expect(accepted.stdout).toBe(`${await server.head('app', 'main')}\trefs/heads/main`);
  });
});
