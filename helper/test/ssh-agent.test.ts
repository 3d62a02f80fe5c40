import { execa } from 'execa';
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AGENT_LIMITS,
  generateSshKey,
  loadSshKey,
  type AgentKey,
  type AgentPolicy,
} from '../src/repositories/ssh-agent/index.js';
import { SshReader, SshWriter } from '../src/repositories/ssh-agent/wire.js';
import { AgentHarness, RawAgentClient } from './support/ssh-agent-harness.js';

/**
 * The agent's protocol rules against a raw client that tries everything an SSH client would not: signing without a bound session, for another
 * session, data that is not a login, binding to an unpinned or forged host key, malformed frames.
 * ssh-agent-openssh.test.ts drives it with real ssh against a real sshd.
 */

const FAILURE = 5;
const SUCCESS = 6;
const IDENTITIES_ANSWER = 12;
const SIGN_RESPONSE = 14;

let dir: string;
let agentKey: AgentKey;
let generatedPem: string;
let host: { blob: Buffer; privateKey: KeyObject };
let otherHost: { blob: Buffer; privateKey: KeyObject };
let harness: AgentHarness;
let client: RawAgentClient | null = null;

async function sshKeygenEd25519(name: string): Promise<{ blob: Buffer; privateKey: KeyObject }> {
  const file = join(dir, name);
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  // The host's own private key file, read by the agent's own loader: one more check that it reads OpenSSH's format.
  const key = loadSshKey(await readFile(file, 'utf8'));
  const pub = (await readFile(`${file}.pub`, 'utf8')).split(' ')[1]!;
  expect(key.publicKeyBlob.equals(Buffer.from(pub, 'base64'))).toBe(true);
  return { blob: key.publicKeyBlob, privateKey: key.privateKey };
}

const ed25519Signature = (privateKey: KeyObject, data: Buffer) =>
  new SshWriter()
    .string('ssh-ed25519')
    .string(sign(null, data, privateKey))
    .toBuffer();

const bindMessage = (hostKey: Buffer, sessionId: Buffer, signature: Buffer, forwarding = false) =>
  new SshWriter()
    .byte(27)
    .string('session-bind@openssh.com')
    .string(hostKey)
    .string(sessionId)
    .string(signature)
    .byte(forwarding ? 1 : 0)
    .toBuffer();

const signMessage = (keyBlob: Buffer, data: Buffer, flags = 0) =>
  new SshWriter().byte(13).string(keyBlob).string(data).uint32(flags).toBuffer();

function userauth(
  sessionId: Buffer,
  {
    method = 'publickey',
    keyBlob = agentKey.publicKeyBlob,
    algorithm = 'ssh-ed25519',
    hostKey = null as Buffer | null,
  } = {},
): Buffer {
  const writer = new SshWriter()
    .string(sessionId)
    .byte(50)
    .string('git')
    .string('ssh-connection')
    .string(method)
    .byte(1)
    .string(algorithm)
    .string(keyBlob);
  if (hostKey) writer.string(hostKey);
  return writer.toBuffer();
}

const SESSION = Buffer.alloc(32, 0x5a);

async function start(policy: Partial<AgentPolicy> = {}): Promise<RawAgentClient> {
  await harness.start({ key: agentKey, hostKeys: [host.blob], ...policy });
  client = await RawAgentClient.connect(harness.socket);
  return client;
}

async function bound(): Promise<RawAgentClient> {
  const agent = await start();
  expect((await agent.request(bindMessage(host.blob, SESSION, ed25519Signature(host.privateKey, SESSION))))?.[0]).toBe(
    SUCCESS,
  );
  return agent;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-ssh-agent-'));
  const generated = generateSshKey('hearth test@git.example');
  generatedPem = generated.privateKeyPem;
  agentKey = loadSshKey(generatedPem);
  host = await sshKeygenEd25519('host');
  otherHost = await sshKeygenEd25519('other-host');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  client?.close();
  client = null;
  await harness.stop();
});

describe('the agent protocol', () => {
  beforeAll(() => {
    harness = new AgentHarness(join(dir, 'agent.sock'));
  });

  it('lists only the policy key, or none', async () => {
    const agent = await start();
    const answer = new SshReader((await agent.request(Buffer.from([11])))!);
    expect(answer.byte()).toBe(IDENTITIES_ANSWER);
    expect(answer.uint32()).toBe(1);
    expect(answer.string().equals(agentKey.publicKeyBlob)).toBe(true);
    expect(answer.string().toString()).toBe('hearth test@git.example');
    answer.end();
    agent.close();
    await harness.stop();
    const none = await start({ key: null });
    expect(await none.request(Buffer.from([11]))).toEqual(Buffer.from([IDENTITIES_ANSWER, 0, 0, 0, 0]));
    expect((await none.request(signMessage(agentKey.publicKeyBlob, userauth(SESSION))))?.[0]).toBe(FAILURE);
  });

  it('signs a user-authentication request of the bound session, and that signature verifies', async () => {
    const agent = await bound();
    for (const data of [
      userauth(SESSION),
      userauth(SESSION, { method: 'publickey-hostbound-v00@openssh.com', hostKey: host.blob }),
    ]) {
      const reply = new SshReader((await agent.request(signMessage(agentKey.publicKeyBlob, data)))!);
      expect(reply.byte()).toBe(SIGN_RESPONSE);
      const signature = new SshReader(reply.string());
      expect(signature.text()).toBe('ssh-ed25519');
      const raw = signature.string();
      expect(verify(null, data, createPublicKey(agentKey.privateKey), raw)).toBe(true);
    }
    expect(harness.warnings()).toEqual([]);
  });

  it('refuses to sign without a bound session — arbitrary data or a login alike — and logs why, never the data', async () => {
    const agent = await start();
    const secretish = Buffer.from('arbitrary data to sign: canary-4417');
    expect(await agent.request(signMessage(agentKey.publicKeyBlob, secretish))).toEqual(Buffer.from([FAILURE]));
    expect(await agent.request(signMessage(agentKey.publicKeyBlob, userauth(SESSION)))).toEqual(Buffer.from([FAILURE]));
    expect(harness.warnings().map((w) => w.reason)).toEqual([
      expect.stringContaining('no session bound'),
      expect.stringContaining('no session bound'),
    ]);
    expect(harness.logLines.join('')).not.toContain('canary-4417');
  });

  it('once bound, refuses anything but a login of that session with its key', async () => {
    const agent = await bound();
    const other = generateSshKey('other');
    const otherBlob = loadSshKey(other.privateKeyPem).publicKeyBlob;
    const refused: [Buffer, string][] = [
      [
        signMessage(agentKey.publicKeyBlob, Buffer.from('SSHSIG\0\0\0\0file')),
        'not an SSH user-authentication request',
      ],
      [signMessage(agentKey.publicKeyBlob, userauth(Buffer.alloc(32, 1))), 'another session'],
      [signMessage(otherBlob, userauth(SESSION, { keyBlob: otherBlob })), 'does not hold'],
      [signMessage(agentKey.publicKeyBlob, userauth(SESSION, { keyBlob: otherBlob })), 'another key or algorithm'],
      [
        signMessage(agentKey.publicKeyBlob, userauth(SESSION, { algorithm: 'rsa-sha2-256' })),
        'another key or algorithm',
      ],
      [
        signMessage(agentKey.publicKeyBlob, userauth(SESSION, { method: 'password' })),
        'not an SSH user-authentication',
      ],
      [
        signMessage(
          agentKey.publicKeyBlob,
          userauth(SESSION, { method: 'publickey-hostbound-v00@openssh.com', hostKey: otherHost.blob }),
        ),
        'another host key',
      ],
      // A real login with bytes after it: not the message an SSH client signs.
      [
        signMessage(agentKey.publicKeyBlob, Buffer.concat([userauth(SESSION), Buffer.from([0])])),
        'not an SSH user-authentication',
      ],
    ];
    for (const [message] of refused) expect(await agent.request(message)).toEqual(Buffer.from([FAILURE]));
    expect(harness.warnings().map((w) => w.reason)).toEqual(
      refused.map(([, reason]): unknown => expect.stringContaining(reason)),
    );
  });

  it('binds only to a pinned host key, with a valid signature, not forwarded, once', async () => {
    const agent = await start();
    const cases: [Buffer, string][] = [
      [
        bindMessage(otherHost.blob, SESSION, ed25519Signature(otherHost.privateKey, SESSION)),
        'other than the repository host',
      ],
      [bindMessage(host.blob, SESSION, ed25519Signature(otherHost.privateKey, SESSION)), 'does not verify'],
      [bindMessage(host.blob, SESSION, ed25519Signature(host.privateKey, Buffer.alloc(32))), 'does not verify'],
      [bindMessage(host.blob, SESSION, ed25519Signature(host.privateKey, SESSION), true), 'forwarded'],
      [
        bindMessage(host.blob, Buffer.alloc(0), ed25519Signature(host.privateKey, Buffer.alloc(0))),
        'impossible length',
      ],
    ];
    for (const [message] of cases) expect(await agent.request(message)).toEqual(Buffer.from([FAILURE]));
    expect(harness.warnings().map((w) => w.reason)).toEqual(
      cases.map(([, reason]): unknown => expect.stringContaining(reason)),
    );
    // None of those bound anything: a login is still refused.
    expect(await agent.request(signMessage(agentKey.publicKeyBlob, userauth(SESSION)))).toEqual(Buffer.from([FAILURE]));

    const good = bindMessage(host.blob, SESSION, ed25519Signature(host.privateKey, SESSION));
    expect(await agent.request(good)).toEqual(Buffer.from([SUCCESS]));
    expect(await agent.request(good)).toEqual(Buffer.from([SUCCESS]));
    const second = Buffer.alloc(32, 3);
    expect(await agent.request(bindMessage(host.blob, second, ed25519Signature(host.privateKey, second)))).toEqual(
      Buffer.from([FAILURE]),
    );
    expect(harness.warnings().at(-1)?.reason).toContain('already bound');
    // Still bound to the first session only.
    expect((await agent.request(signMessage(agentKey.publicKeyBlob, userauth(second))))?.[0]).toBe(FAILURE);
    expect((await agent.request(signMessage(agentKey.publicKeyBlob, userauth(SESSION))))?.[0]).toBe(SIGN_RESPONSE);
  });

  it('refuses key management, other extensions and unknown messages', async () => {
    const agent = await start();
    const generated = generateSshKey('x');
    const messages = [
      new SshWriter().byte(17).string('ssh-ed25519').toBuffer(),
      Buffer.from([19]),
      new SshWriter().byte(22).string('passphrase').toBuffer(),
      new SshWriter().byte(27).string('query').toBuffer(),
      new SshWriter().byte(27).string('restrict-destination-v00@openssh.com').toBuffer(),
      Buffer.from([1]),
      Buffer.from([200]),
    ];
    for (const message of messages) expect(await agent.request(message)).toEqual(Buffer.from([FAILURE]));
    expect(harness.warnings()).toHaveLength(messages.length);
    expect(harness.logLines.join('')).not.toContain(generated.privateKeyPem.split('\n')[1]!);
  });

  it('closes the connection on a malformed message, an empty or oversized frame', async () => {
    const malformed = [
      Buffer.from([13, 0, 0, 0, 9, 1]), // a sign request whose key blob runs past the end
      Buffer.concat([Buffer.from([11]), Buffer.from([0])]), // trailing bytes
      new SshWriter().byte(27).string('session-bind@openssh.com').string('x').toBuffer(), // cut short
      bindMessage(host.blob, SESSION, ed25519Signature(host.privateKey, SESSION)).subarray(0, -1), // no boolean
      Buffer.concat([
        bindMessage(host.blob, SESSION, ed25519Signature(host.privateKey, SESSION)).subarray(0, -1),
        Buffer.from([2]),
      ]),
    ];
    await harness.start({ key: agentKey, hostKeys: [host.blob] });
    for (const message of malformed) {
      const agent = await RawAgentClient.connect(harness.socket);
      expect(await agent.request(message)).toBeNull();
      agent.close();
    }
    for (const length of [0, AGENT_LIMITS.maxMessageBytes + 1]) {
      const agent = await RawAgentClient.connect(harness.socket);
      const header = Buffer.alloc(4);
      header.writeUInt32BE(length);
      agent.socket.write(header);
      expect(await agent.read()).toBeNull();
      agent.close();
    }
    expect(harness.warnings().map((w) => w.reason)).toEqual([
      ...malformed.map((): unknown => expect.stringContaining('malformed')),
      expect.stringContaining('a message of 0 bytes'),
      expect.stringContaining(`a message of ${AGENT_LIMITS.maxMessageBytes + 1} bytes`),
    ]);
  });

  it('closes a connection that keeps being refused', async () => {
    const agent = await start();
    const answers: (Buffer | null)[] = [];
    for (let i = 0; i < AGENT_LIMITS.maxRefusals + 2; i++)
      answers.push(await agent.request(signMessage(agentKey.publicKeyBlob, Buffer.from('x'))));
    expect(answers.slice(0, AGENT_LIMITS.maxRefusals)).toEqual(
      Array(AGENT_LIMITS.maxRefusals).fill(Buffer.from([FAILURE])),
    );
    expect(answers.slice(AGENT_LIMITS.maxRefusals)).toEqual([null, null]);
  });

  it('answers pipelined requests in order, and all of them, when the client reads late', async () => {
    const agent = await start();
    // ~2 MB of answers to ~100 KB of asking: far past the socket's buffers, so the agent must wait
    // for the reader (and read nothing meanwhile) before it goes on.
    const count = 20_000;
    agent.socket.pause();
    for (let i = 0; i < count; i++) agent.send(Buffer.from([11]));
    agent.socket.end();
    await new Promise((resolve) => setTimeout(resolve, 300));
    agent.socket.resume();
    let answered = 0;
    for (;;) {
      const reply = await agent.read();
      if (!reply) break;
      expect(reply[0]).toBe(IDENTITIES_ANSWER);
      answered++;
    }
    expect(answered).toBe(count);
  });
});
