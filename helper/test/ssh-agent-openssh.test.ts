import { execa } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateSshKey, hostKeyBlob, loadSshKey, type AgentPolicy } from '../src/repositories/ssh-agent/index.js';
import { eventually } from './support/eventually.js';
import { AgentHarness } from './support/ssh-agent-harness.js';

/**
 * The agent as the guest's OpenSSH uses it, against a real sshd on 127.0.0.1 (its own config,
 * host keys and authorized_keys; nothing of the machine's). ssh binds its agent connection to the
 * session with `session-bind@openssh.com` and signs in with `publickey-hostbound-v00@openssh.com`,
 * so these runs check the agent's reading of both against OpenSSH's, for each kind of host key.
 */

let dir: string;
let port: number;
let sshd: ChildProcess | null = null;
let sshdLog = '';
let harness: AgentHarness;
let agentKeyPem: string;
let agentPublicKey: string;
const hostKeys: Record<string, { blob: Buffer; line: string }> = {};

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function hostKey(name: string, ...args: string[]): Promise<void> {
  const file = join(dir, `host_${name}`);
  await execa('ssh-keygen', ['-q', ...args, '-N', '', '-C', '', '-f', file]);
  const line = (await readFile(`${file}.pub`, 'utf8')).trim();
  // As the API keeps a pinned key: "<type> <base64>", read back with the helper the lead uses.
  const known = line.split(' ').slice(0, 2).join(' ');
  hostKeys[name] = { blob: hostKeyBlob(known).blob, line: known };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-ssh-agent-openssh-'));
  // sshd refuses to start without its privilege-separation directory; Debian makes it at boot.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  await hostKey('ed25519', '-t', 'ed25519');
  await hostKey('ecdsa', '-t', 'ecdsa', '-b', '256');
  await hostKey('rsa', '-t', 'rsa', '-b', '2048');
  await hostKey('other', '-t', 'ed25519');

  const generated = generateSshKey('hearth-test@127.0.0.1');
  agentKeyPem = generated.privateKeyPem;
  agentPublicKey = generated.publicKey;
  await writeFile(join(dir, 'authorized_keys'), `${generated.publicKey}\n`, { mode: 0o600 });

  port = await freePort();
  const config = join(dir, 'sshd_config');
  await writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_ed25519')}`,
      `HostKey ${join(dir, 'host_ecdsa')}`,
      `HostKey ${join(dir, 'host_rsa')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PidFile none',
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      `AllowUsers ${userInfo().username}`,
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  // -D: in the foreground, so the test owns it; -e: its log on stderr, where the test reads it.
  const server = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  sshd = server;
  server.stderr.on('data', (chunk: Buffer) => (sshdLog += chunk.toString()));
  await eventually(() => sshdLog.includes(`Server listening on 127.0.0.1 port ${port}`), {
    what: 'sshd listening',
    context: () => sshdLog,
    giveUp: () => (server.exitCode !== null ? `sshd exited: ${sshdLog}` : undefined),
  });
  harness = new AgentHarness(join(dir, 'agent.sock'));
});

afterAll(async () => {
  if (sshd && sshd.exitCode === null) {
    const exited = once(sshd, 'exit');
    sshd.kill();
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  await harness.stop();
});

async function serve(policy: Partial<AgentPolicy>): Promise<void> {
  await harness.start({ key: loadSshKey(agentKeyPem), hostKeys: [hostKeys.ed25519!.blob], ...policy });
}

/** `ssh … true` through the agent only, trusting exactly `knownHostKey` for the server. */
async function login(algorithm: string, knownHostKey: string) {
  const knownHosts = join(dir, 'known_hosts');
  await writeFile(knownHosts, `[127.0.0.1]:${port} ${knownHostKey}\n`);
  return execa(
    'ssh',
    [
      '-F',
      '/dev/null',
      '-o',
      `IdentityAgent=${harness.socket}`,
      '-o',
      'IdentitiesOnly=no',
      '-o',
      `UserKnownHostsFile=${knownHosts}`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      'PreferredAuthentications=publickey',
      '-o',
      `HostKeyAlgorithms=${algorithm}`,
      '-p',
      String(port),
      `${userInfo().username}@127.0.0.1`,
      'true',
    ],
    { reject: false, timeout: 20_000 },
  );
}

describe('the SSH agent with real OpenSSH', () => {
  it.each([
    ['ssh-ed25519', 'ed25519'],
    ['ecdsa-sha2-nistp256', 'ecdsa'],
    ['rsa-sha2-512', 'rsa'],
    ['rsa-sha2-256', 'rsa'],
  ])('logs in when the session is bound to the pinned host key (%s)', async (algorithm, name) => {
    await serve({ hostKeys: [hostKeys[name]!.blob] });
    const before = sshdLog.length;
    const result = await login(algorithm, hostKeys[name]!.line);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(harness.warnings()).toEqual([]);
    // It was the agent that logged ssh in: bound to this host key, then one login signed.
    const granted = harness.logLines.map((line) => JSON.parse(line) as { msg: string; hostKey?: string });
    const fingerprint = (await execa('ssh-keygen', ['-l', '-f', join(dir, `host_${name}.pub`)])).stdout.split(' ')[1];
    expect(granted.filter((l) => l.msg.startsWith('ssh agent: '))).toEqual([
      expect.objectContaining({ msg: 'ssh agent: bound to a session with the repository host', hostKey: fingerprint }),
      expect.objectContaining({ msg: 'ssh agent: signed a login to the repository host', hostKey: fingerprint }),
    ]);
    await eventually(() => sshdLog.slice(before).includes('Accepted publickey for'), { context: () => sshdLog });
  });

  it('fails when the policy pins another host key: the bind is refused, and so is the signature', async () => {
    await serve({ hostKeys: [hostKeys.other!.blob] });
    const result = await login('ssh-ed25519', hostKeys.ed25519!.line);
    expect(result.exitCode).toBe(255);
    expect(result.stderr).toMatch(/Permission denied \(publickey\)/);
    const reasons = harness.warnings().map((w) => w.reason);
    expect(reasons).toContain('the session is with a host key other than the repository host’s pinned key');
    expect(reasons).toContain('no session bound to the repository host (session-bind@openssh.com) on this connection');
  });

  it('offers nothing, and so logs in to nothing, without a key', async () => {
    await serve({ key: null });
    const result = await login('ssh-ed25519', hostKeys.ed25519!.line);
    expect(result.exitCode).toBe(255);
  });

  it('refuses ssh-keygen -Y sign through the agent', async () => {
    await serve({});
    const publicKeyFile = join(dir, 'agent_key.pub');
    const message = join(dir, 'message.txt');
    await writeFile(publicKeyFile, `${agentPublicKey}\n`);
    await writeFile(message, 'a commit to sign\n');
    const result = await execa('ssh-keygen', ['-Y', 'sign', '-f', publicKeyFile, '-n', 'git', message], {
      reject: false,
      timeout: 20_000,
      env: { SSH_AUTH_SOCK: harness.socket },
    });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/agent refused|Couldn't sign/);
    expect(harness.warnings().map((w) => w.reason)).toEqual([
      'no session bound to the repository host (session-bind@openssh.com) on this connection',
    ]);
    await expect(readFile(`${message}.sig`)).rejects.toThrow();
  });
});
