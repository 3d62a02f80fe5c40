import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRELOADED_HOST_KEYS } from '../src/repositories/store/preloaded-host-keys.js';
import { loadSshKey } from '../src/repositories/ssh-agent/index.js';
import { parsePublicKeyLine } from '../src/repositories/store/ssh-key.js';
import { keyComment } from '../src/repositories/store/key-comment.js';
import { generateSshKey } from '../src/repositories/ssh-agent/index.js';
import { parseLsRemote, resolveRef } from '../src/repositories/check/remote-refs.js';
import { classifyFailure } from '../src/repositories/check/classify.js';

const run = promisify(execFile);

/** Keys and ref parsing, checked against OpenSSH's own tools where there is one. */
describe('repository keys', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'repo-keys-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('hashes every preloaded host key to the fingerprint its host publishes (as ssh-keygen computes it)', async () => {
    expect(new Set(PRELOADED_HOST_KEYS.map((k) => k.host))).toEqual(
      new Set(['github.com', 'gitlab.com', 'bitbucket.org']),
    );
    for (const key of PRELOADED_HOST_KEYS) {
      expect(parsePublicKeyLine(key.publicKey)?.fingerprint, key.publicKey.slice(0, 30)).toBe(key.fingerprint);
    }
    const file = join(dir, 'known');
    await writeFile(file, PRELOADED_HOST_KEYS.map((k) => `${k.host} ${k.publicKey}\n`).join(''));
    const { stdout } = await run('ssh-keygen', ['-l', '-f', file]);
    const printed = stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ')[1]);
    expect(printed).toEqual(PRELOADED_HOST_KEYS.map((k) => k.fingerprint));
  });

  it('stores a key both ssh (the access check) and the relayed agent read: same public key, same fingerprint', async () => {
    const comment = await keyComment(0, 'git.example.com:2222');
    expect(comment).toMatch(/^hearth root@\S+ git\.example\.com:2222$/);
    const key = generateSshKey(comment);
    expect(key.publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} hearth root@/);
    const file = join(dir, 'id');
    // Exactly what the access check writes into its scratch .ssh/.
    await writeFile(file, key.privateKeyPem, { mode: 0o600 });
    const derived = (await run('ssh-keygen', ['-y', '-f', file])).stdout.trim();
    expect(derived.split(' ').slice(0, 2)).toEqual(key.publicKey.split(' ').slice(0, 2));
    expect((await run('ssh-keygen', ['-l', '-f', file])).stdout.split(' ')[1]).toBe(key.fingerprint);
    expect(parsePublicKeyLine(key.publicKey)?.fingerprint).toBe(key.fingerprint);
    expect(loadSshKey(key.privateKeyPem).publicKeyBlob.toString('base64')).toBe(key.publicKey.split(' ')[1]);
  });

  it('takes a public key only when its blob names the type in front of it', () => {
    const ed = PRELOADED_HOST_KEYS[0]!.publicKey;
    expect(parsePublicKeyLine(`${ed} comment here`)?.publicKey).toBe(ed);
    expect(parsePublicKeyLine(ed.replace('ssh-ed25519', 'ssh-rsa'))).toBeUndefined();
    expect(parsePublicKeyLine('ssh-ed25519 AAAA')).toBeUndefined();
    expect(parsePublicKeyLine('ssh-dss AAAAB3NzaC1kc3MAAACBAP')).toBeUndefined();
  });

  it('reads ls-remote --symref and resolves branches, tags (peeled), SHAs and the default', () => {
    const a = 'a'.repeat(40);
    const b = 'b'.repeat(40);
    const c = 'c'.repeat(40);
    const refs = parseLsRemote(
      [
        'ref: refs/heads/main\tHEAD',
        `${a}\tHEAD`,
        `${a}\trefs/heads/main`,
        `${b}\trefs/heads/feature`,
        `${c}\trefs/tags/v1`,
        `${b}\trefs/tags/v1^{}`,
        'garbage line',
      ].join('\n'),
    );
    expect(refs.defaultBranch).toBe('main');
    expect([...refs.branches.keys()]).toEqual(['main', 'feature']);
    expect(resolveRef(refs, undefined)).toEqual({ ref: 'main', commit: a });
    expect(resolveRef(refs, 'feature')).toEqual({ ref: 'feature', commit: b });
    expect(resolveRef(refs, 'v1')).toEqual({ ref: 'v1', commit: b });
    expect(resolveRef(refs, 'refs/tags/v1')).toEqual({ ref: 'refs/tags/v1', commit: b });
    expect(resolveRef(refs, 'd'.repeat(40))).toEqual({ ref: 'd'.repeat(40), commit: 'd'.repeat(40) });
    expect(resolveRef(refs, 'missing')).toBeUndefined();
  });

  it("tells failures apart by git's and ssh's own words", () => {
    const context = {
      host: 'h',
      transport: 'https' as const,
      withCredential: true,
      pinnedKeys: 0,
      timedOut: false,
      timeoutSeconds: 30,
    };
    const code = (stderr: string, more = {}) => classifyFailure(stderr, { ...context, ...more }).code;
    expect(code("fatal: unable to access 'https://h/x/': Could not resolve host: h")).toBe('unknown-host');
    expect(code("fatal: Authentication failed for 'https://h/x/'")).toBe('auth-refused');
    expect(
      code("fatal: could not read Username for 'https://h': terminal prompts disabled", { withCredential: false }),
    ).toBe('no-credential');
    expect(code("fatal: repository 'https://h/x/' not found")).toBe('repository-not-found');
    expect(code('fatal: unable to access: SSL certificate problem: unable to get local issuer certificate')).toBe(
      'tls-untrusted',
    );
    expect(code('Failed to connect to h port 443 after 1 ms: Connection refused')).toBe('unreachable');
    expect(
      code('No ED25519 host key is known for h and you have requested strict checking.\nHost key verification failed.'),
    ).toBe('host-key-unknown');
    expect(code('Host key verification failed.', { pinnedKeys: 1 })).toBe('host-key-changed');
    expect(code('@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @\nHost key verification failed.')).toBe(
      'host-key-changed',
    );
    expect(code('git@h: Permission denied (publickey).', { transport: 'ssh' })).toBe('auth-refused');
    expect(code('', { timedOut: true })).toBe('timeout');
    expect(classifyFailure('fatal: something odd\n', context)).toEqual({
      code: 'failed',
      message: 'fatal: something odd',
    });
  });
});
