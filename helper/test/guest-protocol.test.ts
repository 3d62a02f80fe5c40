import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Duplex, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_VERSION } from '../src/guest/agent-script.js';
import { CREDENTIAL_HELPER_PATH } from '../src/guest/credential-helper-script.js';
import { STREAM_KINDS } from '../src/guest/protocol/kinds.js';
import { CREDENTIAL_SOCKET, SSH_AGENT_SOCKET } from '../src/guest/relay-paths.js';
import { AGENT_TOO_OLD_MESSAGE, GuestSession } from '../src/guest/session.js';
import { createLogger } from '../src/log.js';
import { AgentWorld, DEV_UID, NOBODY, PYTHON } from './support/guest-agent-process.js';
import { eventually } from './support/eventually.js';

/**
 * Protocol v2 end to end without a VM: hearthd's GuestSession on one end (listening, as for
 * Cloud Hypervisor's vsock), the real Python agent on the other (connecting to it, as over
 * vsock), in a guest-like world of the test's own (support/guest-agent-process.ts).
 */
const log = createLogger('silent', { write: () => undefined });
let world: AgentWorld;
const sessions: GuestSession[] = [];

beforeAll(async () => {
  world = await AgentWorld.make();
});
afterAll(async () => {
  for (const session of sessions.splice(0)) session.close();
  await world.dispose();
});

function session(name: string): { session: GuestSession; port: string } {
  const port = join(world.dir, `${name}.sock`);
  const s = new GuestSession({ endpoint: { listen: port }, log }).open();
  sessions.push(s);
  return { session: s, port };
}

async function readAll(stream: Readable): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

describe('hello', () => {
  it('says protocol 2, the agent version and its features, with a session id fresh on every agent start', async () => {
    const { session: s, port } = session('hello');
    await eventually(() => existsSync(port));
    const first = world.start(port);
    const peer = await s.whenPeer();
    expect(peer).toMatchObject({
      protocol: 2,
      agent: AGENT_VERSION,
      features: ['exec', 'git-credential', 'ssh-agent'],
    });
    expect(peer.session).toMatch(/^[0-9a-f]{32}$/);
    // A long process on this agent: its stream ends when the agent does.
    const sleeper = s.exec({ argv: ['sleep', '3'], user: 'root' });
    await world.stop(first);
    world.start(port);
    await eventually(() => s.peer?.session !== peer.session && s.peer, { what: 'the new agent' });
    await expect(sleeper.exit).rejects.toThrow(/went away|lost|restarted|reconnected/);
    expect(s.peer!.session).not.toBe(peer.session);
    expect(await s.request('ping')).toEqual({});
    await expect(s.request('no-such-method')).rejects.toThrow(/no method/);
  });

  it('an agent that reports but never says hello is too old, with the message the issue pins', async () => {
    const server = createServer((socket) => {
      socket.resume();
      // The v2 agent's readiness lines: what a version-2 agent sends, and nothing else.
      socket.write(
        `${JSON.stringify({ v: 1, type: 'readiness', agent: 2, user: true, authorizedKeys: [], sshd: true, hostKeys: [] })}\n`,
      );
    });
    const path = join(world.dir, 'v1.sock');
    await new Promise<void>((r) => server.listen(path, r));
    try {
      const s = new GuestSession({ endpoint: { connect: path }, log }).open();
      sessions.push(s);
      await eventually(() => s.latest);
      await expect(s.whenPeer(300)).rejects.toThrow(AGENT_TOO_OLD_MESSAGE);
      expect(() => s.exec({ argv: ['true'], user: 'root' })).toThrow(AGENT_TOO_OLD_MESSAGE);
    } finally {
      server.close();
    }
  });
});

describe('exec', () => {
  let s: GuestSession;
  beforeAll(async () => {
    const made = session('exec');
    s = made.session;
    await eventually(() => existsSync(made.port));
    world.start(made.port);
  });
  beforeAll(async () => {
    await s.whenPeer();
  });
  afterAll(() => s.close());

  it('runs as the developer user in its home with a clean environment: stdout, stderr, exit code', async () => {
    const p = s.exec({
      argv: [
        'sh',
        '-c',
        'id -u; id -G; pwd; echo "$HOME $USER $LOGNAME $PATH $FOO"; env | grep -c -e LEAK -e HEARTH_ ; echo oops >&2; exit 3',
      ],
      user: 'dev',
      env: { FOO: 'bar baz' },
    });
    expect(p.stdin).toBeNull();
    const [out, err, exit] = await Promise.all([readAll(p.stdout), readAll(p.stderr), p.exit]);
    expect(out.split('\n')).toEqual([
      String(DEV_UID),
      String(DEV_UID),
      world.home,
      `${world.home} dev dev /usr/local/bin:/usr/bin:/bin bar baz`,
      '0',
      '',
    ]);
    expect(err).toBe('oops\n');
    expect(exit).toEqual({ code: 3, signal: null });
  });

  it('as root, in a directory, with stdin: 1 MiB through cat and back, under both windows', async () => {
    const p = s.exec({ argv: ['cat'], user: 'root', cwd: '/', stdin: true });
    const input = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < input.length; i++) input[i] = (i * 7919) % 251;
    const collected: Buffer[] = [];
    p.stdout.on('data', (c: Buffer) => collected.push(c));
    const ended = once(p.stdout, 'end');
    p.stdin!.end(input);
    expect(await p.exit).toEqual({ code: 0, signal: null });
    await ended;
    expect(Buffer.concat(collected).equals(input)).toBe(true);
  });

  it('kill() ends it with SIGKILL; a user other than root or dev, or a missing program, is refused', async () => {
    const sleeper = s.exec({ argv: ['sleep', '60'], user: 'dev' });
    sleeper.stdout.resume();
    sleeper.stderr.resume();
    setTimeout(() => sleeper.kill(), 100);
    expect(await sleeper.exit).toEqual({ code: null, signal: 'SIGKILL' });
    await expect(s.exec({ argv: ['id'], user: 'nobody' }).exit).rejects.toThrow(/runs only as root or dev/);
    await expect(s.exec({ argv: ['/no/such/program'], user: 'root' }).exit).rejects.toThrow(/No such file/);
  });

  it('a reader that stops reading stops the process (window credit), and nothing is lost when it reads again', async () => {
    // 4 MiB from the guest, read only after a pause: meanwhile hearthd holds at most one window.
    const p = s.exec({ argv: ['head', '-c', String(4 * 1024 * 1024), '/dev/zero'], user: 'dev' });
    p.stderr.resume();
    await new Promise((r) => setTimeout(r, 500));
    expect(s.stats.bufferedBytes).toBeLessThanOrEqual(32 * 1024);
    let total = 0;
    p.stdout.on('data', (c: Buffer) => (total += c.length));
    expect(await p.exit).toEqual({ code: 0, signal: null });
    await eventually(() => total === 4 * 1024 * 1024);
  });
});

describe('relays: the guest opens streams of the kinds it may, for root and the developer user only', () => {
  let s: GuestSession;
  const received: string[] = [];
  beforeAll(async () => {
    const made = session('relay');
    s = made.session;
    s.serve('git-credential', (stream: Duplex) => {
      // Not \`for await\`: it destroys the stream at the end, and the answer must still go out.
      let text = '';
      stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
      stream.once('end', () => {
        received.push(text);
        stream.end('protocol=https\nhost=git.example\nusername=x-token\npassword=not-a-real-token\n');
      });
    });
    await eventually(() => existsSync(made.port));
    world.start(made.port);
    await s.whenPeer();
    await eventually(() => existsSync(join(world.runDir, 'git-credential.sock')), { what: 'the relay socket' });
  });
  afterAll(() => s.close());

  it('the table and the paths the lead configures git and ssh with', () => {
    expect(STREAM_KINDS).toEqual({ exec: 'host', 'git-credential': 'guest', 'ssh-agent': 'guest' });
    expect([CREDENTIAL_SOCKET, SSH_AGENT_SOCKET, CREDENTIAL_HELPER_PATH]).toEqual([
      '/run/hearth/git-credential.sock',
      '/run/hearth/ssh-agent.sock',
      '/usr/local/lib/hearth/git-credential-hearth',
    ]);
  });

  it('the directory is root:dev 0750, the sockets root:dev 0660', async () => {
    const dir = await lstat(world.runDir);
    expect([dir.uid, dir.gid, dir.mode & 0o7777]).toEqual([0, DEV_UID, 0o750]);
    for (const name of ['git-credential.sock', 'ssh-agent.sock']) {
      const sock = await lstat(join(world.runDir, name));
      expect([sock.isSocket(), sock.uid, sock.gid, sock.mode & 0o777]).toEqual([true, 0, DEV_UID, 0o660]);
    }
  });

  it("git's credential helper, run as dev, asks hearthd's handler and prints its answer; store and erase touch nothing", async () => {
    const got = await world.runAs(
      DEV_UID,
      DEV_UID,
      [PYTHON, world.helperFile, 'get'],
      'protocol=https\nhost=git.example\npath=team/repo.git\n\nignored=after-blank\n',
    );
    expect(got).toMatchObject({ code: 0, stderr: '' });
    expect(got.stdout).toBe('protocol=https\nhost=git.example\nusername=x-token\npassword=not-a-real-token\n');
    expect(received).toEqual(['get\nprotocol=https\nhost=git.example\npath=team/repo.git\n']);
    for (const action of ['store', 'erase'])
      expect(
        await world.runAs(DEV_UID, DEV_UID, [PYTHON, world.helperFile, action], 'protocol=https\nhost=x\n\n'),
      ).toMatchObject({ code: 0, stdout: '' });
    expect(received).toHaveLength(1);
  });

  it('another uid is refused: outside the group by the modes, inside it by SO_PEERCRED (closed at once, logged)', async () => {
    const probe = [
      PYTHON,
      '-c',
      [
        'import socket, sys',
        's = socket.socket(socket.AF_UNIX)',
        'try:',
        '    s.connect(sys.argv[1])',
        'except OSError as e:',
        '    sys.exit(print("refused", e.errno))',
        'try:',
        '    s.sendall(b"get\\nprotocol=https\\nhost=git.example\\n")',
        '    s.shutdown(socket.SHUT_WR)',
        '    print("answer", repr(s.recv(100)))',
        'except OSError as e:',
        '    print("closed", e.errno)',
      ].join('\n'),
      join(world.runDir, 'git-credential.sock'),
    ];
    expect((await world.runAs(NOBODY, NOBODY, probe, '')).stdout).toBe('refused 13\n');
    const before = received.length;
    const member = await world.runAs(NOBODY, DEV_UID, probe, '');
    expect(member.stdout).toMatch(/^(answer b''|closed \d+)\n$/);
    await eventually(() => world.stderr.includes(`refused a git-credential connection from uid ${NOBODY}`));
    expect(received).toHaveLength(before);
    // And root may.
    expect(
      (await world.runAs(0, 0, [PYTHON, world.helperFile, 'get'], 'protocol=https\nhost=git.example\n\n')).stdout,
    ).toContain('password=');
  });

  it('a kind with no handler is refused by hearthd: the client sees its connection closed', async () => {
    const client = connect(join(world.runDir, 'ssh-agent.sock'));
    const closed = once(client, 'close');
    client.on('error', () => undefined);
    client.resume();
    await closed;
    expect(s.stats.refused.refusedOpens).toBeGreaterThan(0);
  });
});

/** A raw hearthd end, to pin the agent's side of the hello: the test writes frames itself. */
describe("hearthd's hello: the agent answers and drops the streams of the previous connection", () => {
  let server: Server;
  afterAll(() => server.close());

  it('kills the process of a stream opened before the hello', async () => {
    const path = join(world.dir, 'raw.sock');
    const lines: Array<Record<string, unknown>> = [];
    let guest: Socket | undefined;
    server = createServer((socket) => {
      guest = socket;
      let buffered = '';
      socket.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const parts = buffered.split('\n');
        buffered = parts.pop()!;
        for (const part of parts) lines.push(JSON.parse(part) as Record<string, unknown>);
      });
    });
    await new Promise<void>((r) => server.listen(path, r));
    world.start(path);
    await eventually(() => lines.find((l) => l.type === 'hello'));
    const session = lines.find((l) => l.type === 'hello')!.session;
    const send = (frame: unknown) => guest!.write(`${JSON.stringify(frame)}\n`);
    send({
      type: 'open',
      stream: 2,
      kind: 'exec',
      params: { argv: ['sh', '-c', 'echo $$; exec sleep 60'], user: 'root', stdin: false },
      window: 32768,
    });
    const data = await eventually(() => lines.find((l) => l.type === 'data' && l.stream === 2));
    const pid = Number(
      Buffer.from(data.data as string, 'base64')
        .toString()
        .trim(),
    );
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    // A guest may not be asked to open its own kinds, nor with a guest's id.
    send({ type: 'open', stream: 4, kind: 'git-credential', window: 32768 });
    send({
      type: 'open',
      stream: 7,
      kind: 'exec',
      params: { argv: ['true'], user: 'root', stdin: false },
      window: 32768,
    });
    await eventually(
      () =>
        lines.filter((l) => l.type === 'close' && typeof l.error === 'string' && /refused/.test(l.error)).length === 2,
    );
    const hellos = () => lines.filter((l) => l.type === 'hello').length;
    const before = hellos();
    send({ type: 'hello', protocol: 2 });
    await eventually(() => hellos() === before + 1);
    expect(lines.filter((l) => l.type === 'hello').at(-1)!.session).toBe(session);
    await eventually(() => !existsSync(`/proc/${pid}`), { what: 'the process of the dropped stream to end' });
    // Its stream is gone: a window for it changes nothing, and the agent still answers.
    send({ type: 'window', stream: 2, bytes: 100 });
    send({ type: 'request', id: 9, method: 'ping' });
    await eventually(() => lines.find((l) => l.type === 'response' && l.id === 9));
    guest!.destroy();
  });
});

/**
 * The virtio-serial case (QEMU): the agent's port is a device it opens read-write, which shows it
 * nothing of hearthd connecting or leaving (support/serial-bridge.py plays the port with a pty
 * and QEMU's chardev socket). hearthd attaches after the agent started, and later a new hearthd
 * attaches again: its hello is what tells the agent.
 */
describe('over a serial port (virtio-serial): hearthd attaches late, and again', () => {
  it('a later hearthd gets a hello with the same session, and the streams of the previous one are dropped', async () => {
    const port = join(world.dir, 'virtio-port');
    const chardev = join(world.dir, 'chardev.sock');
    const bridge = spawn(PYTHON, [join(import.meta.dirname, 'support', 'serial-bridge.py'), port, chardev], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await once(bridge.stdout, 'data');
      world.start(port);
      // The agent's first hello went nowhere: nobody was attached.
      await new Promise((r) => setTimeout(r, 500));
      const first = new GuestSession({ endpoint: { connect: chardev }, log }).open();
      sessions.push(first);
      const peer = await first.whenPeer();
      const sleeper = first.exec({ argv: ['sh', '-c', 'echo $$; exec sleep 60'], user: 'root' });
      sleeper.stderr.resume();
      const [pid] = (await once(sleeper.stdout, 'data')) as [Buffer];
      const path = `/proc/${String(pid).trim()}`;
      expect(existsSync(path)).toBe(true);
      // hearthd restarts: the old session goes, a new one attaches to the same port.
      first.close();
      const second = new GuestSession({ endpoint: { connect: chardev }, log }).open();
      sessions.push(second);
      expect((await second.whenPeer()).session).toBe(peer.session);
      await eventually(() => !existsSync(path), { what: 'the previous connection’s process to end' });
      const p = second.exec({ argv: ['echo', 'over the port'], user: 'dev' });
      let out = '';
      p.stdout.on('data', (c: Buffer) => (out += c.toString()));
      p.stderr.resume();
      expect(await p.exit).toEqual({ code: 0, signal: null });
      await eventually(() => out === 'over the port\n');
    } finally {
      bridge.kill('SIGKILL');
    }
  });
});
