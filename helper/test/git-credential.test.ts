import { execa } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CREDENTIAL_LIMITS,
  matchesRepository,
  serveGitCredential,
  type CredentialAnswerer,
  type CredentialRequest,
} from '../src/repositories/git-credential/index.js';
import { createLogger } from '../src/log.js';

/**
 * The git credential server over a real Unix socket, fed hostile requests byte for byte, and then
 * driven by real git (`git credential fill` with a helper that relays to that socket, as the
 * guest's helper relays over the guest channel).
 */

const TOKEN = 'hearth-test-token-7f3a9c';
const REPO = { host: 'git.example:8443', path: 'owner/repo.git' };

let dir: string;
let socket: string;
let server: Server;
let logLines: string[] = [];
let asked: CredentialRequest[] = [];
let answerer: CredentialAnswerer;

const repositoryAnswerer: CredentialAnswerer = (request) =>
  Promise.resolve(
    matchesRepository(request, REPO) ? { username: 'x-token', password: TOKEN } : { refused: 'not the repository' },
  );

const logs = () => logLines.map((line) => JSON.parse(line) as { level: number; msg: string; [key: string]: unknown });
const warnings = () => logs().filter((l) => l.level === 40);

/** Sends `input` (then half-closes, as the guest's helper does) and returns everything answered. */
function ask(input: Buffer | string, { halfClose = true } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = connect(socket);
    const parts: Buffer[] = [];
    client.on('data', (chunk: Buffer) => parts.push(chunk));
    client.on('error', reject);
    client.on('close', () => resolve(Buffer.concat(parts).toString('utf8')));
    client.write(input);
    if (halfClose) client.end();
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-git-credential-'));
  socket = join(dir, 'credential.sock');
  const log = createLogger('debug', { write: (line: string) => void logLines.push(line) });
  // Half-open, as the guest channel's streams are: the helper half-closes, then reads the answer.
  server = createServer({ allowHalfOpen: true }, (stream) =>
    serveGitCredential(
      stream,
      (request) => {
        asked.push(request);
        return answerer(request);
      },
      log,
    ),
  );
  await new Promise<void>((resolve) => server.listen(socket, resolve));
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  logLines = [];
  asked = [];
  answerer = repositoryAnswerer;
});

const GOOD = 'get\nprotocol=https\nhost=git.example:8443\npath=owner/repo.git\n\n';

describe('matchesRepository', () => {
  const request = (over: Partial<CredentialRequest>): CredentialRequest => ({
    protocol: 'https',
    host: 'git.example:8443',
    path: 'owner/repo.git',
    username: null,
    ...over,
  });

  it('matches the repository on its own host and path, with or without .git or a leading slash', () => {
    for (const path of ['owner/repo.git', 'owner/repo', '/owner/repo.git'])
      expect(matchesRepository(request({ path }), REPO), path).toBe(true);
    expect(matchesRepository(request({ host: 'GIT.example:8443' }), REPO)).toBe(true);
    expect(
      matchesRepository(request({ host: 'github.com:443', path: 'o/r' }), { host: 'github.com', path: '/o/r.git' }),
    ).toBe(true);
  });

  it('refuses another protocol, host, port or path, trailing junk, and a request without a path', () => {
    const refused: Partial<CredentialRequest>[] = [
      { protocol: 'http' },
      { protocol: 'ssh' },
      { host: 'git.example' },
      { host: 'git.example:443' },
      { host: 'git.example:8444' },
      { host: 'evil.example:8443' },
      { host: 'git.example.evil:8443' },
      { path: null },
      { path: 'owner/other.git' },
      { path: 'owner/repo.git/' },
      { path: 'owner/repo.git/info/refs' },
      { path: 'owner/repo.gitx' },
      { path: 'owner/repo.git.git' },
      { path: 'Owner/repo.git' },
      { path: 'owner' },
      { path: '' },
    ];
    for (const over of refused) expect(matchesRepository(request(over), REPO), JSON.stringify(over)).toBe(false);
  });
});

describe('serveGitCredential', () => {
  it('answers get for the repository, with username and password and a blank line, and logs no password', async () => {
    expect(await ask(GOOD)).toBe(`username=x-token\npassword=${TOKEN}\n\n`);
    expect(asked).toEqual([{ protocol: 'https', host: 'git.example:8443', path: 'owner/repo.git', username: null }]);
    expect(logs().some((l) => l.msg === 'git credential: answered' && l.host === 'git.example:8443')).toBe(true);
    expect(logLines.join('')).not.toContain(TOKEN);
  });

  it('reads to the end when no blank line comes, answers at the blank line without waiting for the end', async () => {
    expect(await ask('get\nprotocol=https\nhost=git.example:8443\npath=owner/repo.git')).toContain(TOKEN);
    expect(await ask(GOOD, { halfClose: false })).toContain(TOKEN);
  });

  it('expands url= as git does', async () => {
    expect(await ask('get\nurl=https://git.example:8443/owner/repo.git\n')).toContain(TOKEN);
    expect(asked[0]).toEqual({ protocol: 'https', host: 'git.example:8443', path: 'owner/repo.git', username: null });
    expect(await ask('get\nurl=https://me@git.example:8443/owner/repo%2Egit//\n')).toContain(TOKEN);
    expect(asked[1]).toEqual({ protocol: 'https', host: 'git.example:8443', path: 'owner/repo.git', username: 'me' });
  });

  it('ignores keys it does not decide on, after checking them like the rest', async () => {
    const input = `get\ncapability[]=authtype\nprotocol=https\nhost=git.example:8443\npath=owner/repo.git\nwwwauth[]=Basic realm="x"\nfuture_key=1\n\n`;
    expect(await ask(input)).toContain(TOKEN);
    expect(await ask(input.replace('future_key=1', 'future_key=\u0007'))).toBe('');
  });

  const hostile: [string, Buffer | string, string][] = [
    [
      'a NUL in a value',
      `get\nprotocol=https\nhost=git.example:8443\npath=owner/repo.git\u0000\n\n`,
      'control character',
    ],
    ['a CR', 'get\r\nprotocol=https\r\nhost=git.example:8443\r\npath=owner/repo.git\r\n\r\n', 'control character'],
    ['an escape', 'get\nprotocol=https\nhost=git.example:8443\npath=owner/\u001b[2Jrepo.git\n\n', 'control character'],
    [
      'a C1 control (NEL)',
      'get\nprotocol=https\nhost=git.example:8443\npath=owner/repo.git\u0085\n\n',
      'control character',
    ],
    ['a DEL', 'get\nprotocol=https\nhost=git.example:8443\u007f\npath=owner/repo.git\n\n', 'control character'],
    [
      'not UTF-8',
      Buffer.from([...Buffer.from('get\nprotocol=https\nhost=git.example:8443\npath='), 0xff, 0x0a, 0x0a]),
      'UTF-8',
    ],
    ['a line without =', 'get\nprotocol=https\nhost=git.example:8443\nowner/repo.git\n\n', 'key=value'],
    ['an empty key', 'get\n=https\nhost=git.example:8443\n\n', 'key=value'],
    ['a malformed key', 'get\nPROTOCOL=https\nhost=git.example:8443\n\n', 'attribute name'],
    ['an unknown action', 'fill\nprotocol=https\nhost=git.example:8443\n\n', 'action'],
    [
      'host given twice',
      'get\nprotocol=https\nhost=evil.example\nhost=git.example:8443\npath=owner/repo.git\n\n',
      'twice',
    ],
    ['url= and host=', 'get\nurl=https://evil.example/owner/repo.git\nhost=git.example:8443\n\n', 'twice'],
    [
      'a newline smuggled into url= (%0a)',
      'get\nurl=https://git.example:8443/owner/repo.git%0ahost=evil\n\n',
      'control character',
    ],
    [
      'a newline in the url= user',
      'get\nurl=https://a%0Apassword=x@git.example:8443/owner/repo.git\n\n',
      'control character',
    ],
    ['a percent-encoded host', 'get\nurl=https://git%2eexample:8443/owner/repo.git\n\n', 'invalid host'],
    ['a password in url=', 'get\nurl=https://u:secret@git.example:8443/owner/repo.git\n\n', 'password'],
    ['a fragment host trick', 'get\nurl=https://evil.example#@git.example:8443/owner/repo.git\n\n', '?, #'],
    ['a query', 'get\nurl=https://git.example:8443/owner/repo.git?x=1\n\n', '?, #'],
    ['a backslash', 'get\nurl=https://git.example:8443\\@evil.example/owner/repo.git\n\n', '?, #'],
    ['two @', 'get\nurl=https://a@b@git.example:8443/owner/repo.git\n\n', 'more than one @'],
    ['url= without a protocol', 'get\nurl=git.example:8443/owner/repo.git\n\n', 'without a protocol'],
    ['a bad escape', 'get\nurl=https://git.example:8443/owner/%zzrepo.git\n\n', 'percent escape'],
    ['an empty host', 'get\nurl=https:///owner/repo.git\n\n', 'invalid host'],
    ['a host with a space', 'get\nprotocol=https\nhost=git.example :8443\npath=owner/repo.git\n\n', 'invalid host'],
    ['a leading-dash host', 'get\nprotocol=https\nhost=-oProxyCommand=x\npath=owner/repo.git\n\n', 'invalid host'],
    ['no host', 'get\nprotocol=https\npath=owner/repo.git\n\n', 'without protocol or host'],
  ];
  it.each(hostile)(
    'refuses %s: nothing answered, the reason logged, the answerer never asked',
    async (_name, input, reason) => {
      expect(await ask(input)).toBe('');
      expect(asked).toEqual([]);
      expect(warnings().map((w) => w.reason)).toEqual([expect.stringContaining(reason)]);
    },
  );

  it('refuses the wrong protocol, host, port and path, logging host and path', async () => {
    const cases = [
      'get\nprotocol=http\nhost=git.example:8443\npath=owner/repo.git\n\n',
      'get\nprotocol=https\nhost=git.example\npath=owner/repo.git\n\n',
      'get\nprotocol=https\nhost=git.example:8444\npath=owner/repo.git\n\n',
      'get\nprotocol=https\nhost=evil.example:8443\npath=owner/repo.git\n\n',
      'get\nprotocol=https\nhost=git.example:8443\npath=owner/other.git\n\n',
      'get\nprotocol=https\nhost=git.example:8443\n\n',
    ];
    for (const input of cases) expect(await ask(input), input).toBe('');
    expect(asked).toHaveLength(cases.length);
    expect(warnings()).toHaveLength(cases.length);
    expect(warnings()[4]).toMatchObject({
      host: 'git.example:8443',
      path: 'owner/other.git',
      reason: 'not the repository',
    });
  });

  it('answers store and erase with nothing, without asking', async () => {
    expect(
      await ask(`store\nprotocol=https\nhost=git.example:8443\npath=owner/repo.git\nusername=u\npassword=${TOKEN}\n\n`),
    ).toBe('');
    expect(await ask('erase\nprotocol=https\nhost=git.example:8443\n\n')).toBe('');
    expect(asked).toEqual([]);
    expect(logLines.join('')).not.toContain(TOKEN);
  });

  it('refuses and closes a request over the size cap', async () => {
    const big = `get\nprotocol=https\nhost=git.example:8443\n${'wwwauth[]=Basic\n'.repeat(5000)}\n`;
    expect(big.length).toBeGreaterThan(CREDENTIAL_LIMITS.maxInputBytes);
    expect(await ask(big)).toBe('');
    expect(asked).toEqual([]);
    expect(warnings()[0]?.reason).toMatch(/over 65536 bytes/);
  });

  it('cuts off a request that stalls', async () => {
    vi.spyOn(CREDENTIAL_LIMITS, 'requestTimeoutMs', 'get').mockReturnValue(200);
    try {
      const started = Date.now();
      expect(await ask('get\nprotocol=https\n', { halfClose: false })).toBe('');
      expect(Date.now() - started).toBeLessThan(5000);
      expect(warnings()[0]?.reason).toMatch(/in time/);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('never writes a stored credential that would inject attributes', async () => {
    for (const password of [`${TOKEN}\nusername=evil`, `${TOKEN}\u0000`, `${TOKEN}\r`, '']) {
      answerer = () => Promise.resolve({ username: 'x-token', password });
      expect(await ask(GOOD)).toBe('');
    }
    answerer = () => Promise.resolve({ username: 'a\nb', password: TOKEN });
    expect(await ask(GOOD)).toBe('');
    answerer = () => Promise.reject(new Error('the store is unreadable'));
    expect(await ask(GOOD)).toBe('');
    expect(logs().filter((l) => l.level === 50)).toHaveLength(6);
    expect(logLines.join('')).not.toContain(TOKEN);
  });
});

describe('with real git', () => {
  let helper: string;
  let home: string;

  beforeAll(async () => {
    home = join(dir, 'home');
    helper = join(dir, 'relay-helper.mjs');
    // The guest's helper in miniature: the action, then git's attributes, then the half-close;
    // whatever comes back goes to git.
    await writeFile(
      helper,
      [
        "import { connect } from 'node:net';",
        `const socket = connect(${JSON.stringify(socket)});`,
        'socket.write(`${process.argv[2]}\\n`);',
        'process.stdin.pipe(socket);',
        'socket.pipe(process.stdout);',
      ].join('\n'),
    );
  });

  const fill = (input: string) =>
    execa(
      'git',
      [
        '-c',
        `credential.helper=!"${process.execPath}" "${helper}"`,
        '-c',
        'credential.useHttpPath=true',
        'credential',
        'fill',
      ],
      {
        input,
        reject: false,
        timeout: 15_000,
        env: { HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '', SSH_ASKPASS: '' },
        extendEnv: false,
      },
    );

  it('gives git the password for the repository, and nothing for another host, port, path or protocol', async () => {
    const ok = await fill('url=https://git.example:8443/owner/repo.git\n\n');
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`password=${TOKEN}`);
    expect(ok.stdout).toContain('username=x-token');
    expect(asked.at(-1)).toEqual({
      protocol: 'https',
      host: 'git.example:8443',
      path: 'owner/repo.git',
      username: null,
    });

    for (const url of [
      'https://git.example:8443/owner/other.git',
      'https://git.example/owner/repo.git',
      'https://evil.example:8443/owner/repo.git',
      'http://git.example:8443/owner/repo.git',
    ]) {
      const refused = await fill(`url=${url}\n\n`);
      expect(refused.exitCode, url).not.toBe(0);
      expect(refused.stdout, url).not.toContain(TOKEN);
      expect(refused.stderr, url).toMatch(/terminal prompts disabled/);
    }
    expect(warnings()).toHaveLength(4);
    expect(logLines.join('')).not.toContain(TOKEN);
  });
});
