import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCgiHead } from './support/git-server/cgi.js';
import { cleanGitEnv, withToken } from './support/git-server/client.js';
import { startGitServer } from './support/git-server/index.js';

/**
 * The test Git server without a namespace (on 127.0.0.1, as unit tests of other parts use it), its
 * end, the directories it refuses, and its CGI parser. The namespace and the SSH side are
 * exercised in git-server.test.ts.
 */

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'gitsrv-local-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('the test Git server outside a namespace, and its end', () => {
  it('serves on 127.0.0.1 in the caller’s namespace, and stop() leaves nothing behind', async () => {
    const local = await startGitServer();
    let stopped = false;
    try {
      expect(local.address).toBe('127.0.0.1');
      await local.createRepository('solo', { branches: ['trunk'] });
      const listed = await execa(
        'git',
        [
          '-c',
          `http.sslCAInfo=${local.https.caFile}`,
          'ls-remote',
          '--symref',
          withToken(local.https.url('solo'), local.https.token),
          'HEAD',
        ],
        { env: cleanGitEnv(work), extendEnv: false, reject: false },
      );
      expect(listed.stdout).toContain('ref: refs/heads/trunk\tHEAD');
      expect(listed.stdout).toContain(await local.head('solo', 'trunk'));
      await local.stop();
      stopped = true;
      await local.stop(); // idempotent
      expect(existsSync(local.dir)).toBe(false);
      const refs = `${local.https.url('solo')}/info/refs`;
      expect((await execa('curl', ['-sS', '-k', '--max-time', '2', refs], { reject: false })).exitCode).not.toBe(0);
      const ssh = connect(local.ssh.port, '127.0.0.1');
      const [error] = (await once(ssh, 'error')) as [NodeJS.ErrnoException];
      expect(error.code).toBe('ECONNREFUSED');
    } finally {
      if (!stopped) await local.stop();
    }
  });
});

describe('the test Git server’s directory', () => {
  it('is refused below a world-writable directory, which sshd’s StrictModes would refuse, and nothing is made', async () => {
    const dir = join(tmpdir(), `gitsrv-refused-${process.pid}`);
    await expect(startGitServer({ dir })).rejects.toThrow(
      /must be a root-owned directory, not group- or world-writable/,
    );
    expect(existsSync(dir)).toBe(false);
  });
});

describe('CGI answers', () => {
  it('reads the header block with LF or CRLF, a Status header, and keeps the body after it', () => {
    const lf = parseCgiHead(Buffer.from('Status: 404 Not Found\nContent-Type: text/plain\n\nbody'));
    expect(lf).toEqual({ status: 404, headers: [['Content-Type', 'text/plain']], rest: Buffer.from('body') });
    const crlf = parseCgiHead(Buffer.from('Content-Type: x\r\nExpires: 0\r\n\r\n\n\nrest'));
    expect(crlf).toEqual({
      status: 200,
      headers: [
        ['Content-Type', 'x'],
        ['Expires', '0'],
      ],
      rest: Buffer.from('\n\nrest'),
    });
    expect(parseCgiHead(Buffer.from('Content-Type: x\r\n'))).toBeUndefined();
    expect(() => parseCgiHead(Buffer.from('garbage\n\n'))).toThrow(/not a CGI header/);
    expect(() => parseCgiHead(Buffer.from('Status: x\n\n'))).toThrow(/bad CGI status/);
  });
});
