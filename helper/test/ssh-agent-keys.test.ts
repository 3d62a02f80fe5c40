import { execa } from 'execa';
import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyHostSignature } from '../src/repositories/ssh-agent/host-signature.js';
import { generateSshKey, hostKeyBlob, loadSshKey } from '../src/repositories/ssh-agent/index.js';
import { SshWriter } from '../src/repositories/ssh-agent/wire.js';

/**
 * The agent's keys against OpenSSH's own ssh-keygen: the keys hearthd generates are read by it,
 * the keys it generates are read by hearthd, and host signatures of every kind verify.
 */

let dir: string;
let generatedPem: string;
let host: { blob: Buffer; privateKey: KeyObject };

const ed25519Signature = (privateKey: KeyObject, data: Buffer) =>
  new SshWriter()
    .string('ssh-ed25519')
    .string(sign(null, data, privateKey))
    .toBuffer();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-ssh-keys-'));
  generatedPem = generateSshKey('hearth test@git.example').privateKeyPem;
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'host', '-f', join(dir, 'host')]);
  // The host's own private key file, read by the agent's loader: it reads OpenSSH's format too.
  const key = loadSshKey(await readFile(join(dir, 'host'), 'utf8'));
  host = { blob: key.publicKeyBlob, privateKey: key.privateKey };
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('keys', () => {
  it('generates an ed25519 key that OpenSSH reads, with the public key and fingerprint ssh-keygen gives', async () => {
    const generated = generateSshKey('alice@hearth git.example');
    const file = join(dir, 'generated');
    await writeFile(file, generated.privateKeyPem, { mode: 0o600 });
    const derived = await execa('ssh-keygen', ['-y', '-f', file]);
    expect(generated.publicKey.startsWith(`${derived.stdout.split(' ').slice(0, 2).join(' ')} `)).toBe(true);
    expect(generated.publicKey.endsWith(' alice@hearth git.example')).toBe(true);
    await writeFile(`${file}.pub`, `${generated.publicKey}\n`);
    const listed = await execa('ssh-keygen', ['-l', '-f', `${file}.pub`]);
    expect(listed.stdout.split(' ')[1]).toBe(generated.fingerprint);
    // The loaded key signs what the public key verifies.
    const loaded = loadSshKey(generated.privateKeyPem);
    expect(loaded.comment).toBe('alice@hearth git.example');
    const data = Buffer.from('probe');
    const signature = ed25519Signature(loaded.privateKey, data);
    expect(verifyHostSignature(loaded.publicKeyBlob, signature, data)).toBe(true);
    expect(verifyHostSignature(loaded.publicKeyBlob, signature, Buffer.from('other'))).toBe(false);
  });

  it('reads a pinned host key line, and refuses one whose named type is not the blob’s', async () => {
    const line = (await readFile(join(dir, 'host.pub'), 'utf8')).trim();
    const { blob, fingerprint } = hostKeyBlob(line);
    expect(blob.equals(host.blob)).toBe(true);
    expect(fingerprint).toBe((await execa('ssh-keygen', ['-l', '-f', join(dir, 'host.pub')])).stdout.split(' ')[1]);
    expect(() => hostKeyBlob(line.replace('ssh-ed25519', 'ssh-rsa'))).toThrow(/does not match/);
    expect(() => hostKeyBlob('ssh-dss AAAAB3NzaC1kc3M=')).toThrow(/supported type/);
    expect(() => hostKeyBlob('ssh-ed25519 AAAA')).toThrow(/supported type/);
  });

  it('refuses comments that are not one printable line', () => {
    expect(() => generateSshKey('a\nb')).toThrow(/printable/);
  });

  it('loads only unencrypted ed25519 OpenSSH keys, and says why without the key', async () => {
    await execa('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', join(dir, 'rsa')]);
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'passphrase', '-f', join(dir, 'encrypted')]);
    expect(() => loadSshKey(generatedPem.replace('BEGIN OPENSSH', 'BEGIN RSA'))).toThrow(/not an OpenSSH private key/);
    const rsa = await readFile(join(dir, 'rsa'), 'utf8');
    expect(() => loadSshKey(rsa)).toThrow(/only ed25519/);
    expect(() => loadSshKey(rsa)).not.toThrow(new RegExp(rsa.split('\n')[1]!.slice(0, 20)));
    const encrypted = await readFile(join(dir, 'encrypted'), 'utf8');
    expect(() => loadSshKey(encrypted)).toThrow(/encrypted/);
    // One flipped byte inside: caught by the structure or the public/private consistency check.
    const lines = generatedPem.split('\n');
    const body = Buffer.from(lines.slice(1, -2).join(''), 'base64');
    body.writeUInt8(body[body.length - 40]! ^ 0xff, body.length - 40);
    const corrupt = `${lines[0]}\n${body.toString('base64')}\n${lines.at(-2)}\n`;
    expect(() => loadSshKey(corrupt)).toThrow();
  });

  it('verifies ECDSA host signatures on every NIST curve and RSA with SHA-2 only', async () => {
    const data = Buffer.alloc(32, 7);
    for (const [bits, hash] of [
      ['256', 'sha256'],
      ['384', 'sha384'],
      ['521', 'sha512'],
    ] as const) {
      const file = join(dir, `ecdsa${bits}`);
      await execa('ssh-keygen', ['-q', '-t', 'ecdsa', '-b', bits, '-m', 'PEM', '-N', '', '-f', file]);
      const blob = Buffer.from((await readFile(`${file}.pub`, 'utf8')).split(' ')[1]!, 'base64');
      const key = createPrivateKey(await readFile(file, 'utf8'));
      const rs = sign(hash, data, { key, dsaEncoding: 'ieee-p1363' });
      const half = rs.length / 2;
      const mpint = (magnitude: Buffer) => {
        let start = 0;
        while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
        const trimmed = magnitude.subarray(start);
        return (trimmed[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
      };
      const inner = new SshWriter()
        .string(mpint(rs.subarray(0, half)))
        .string(mpint(rs.subarray(half)))
        .toBuffer();
      const signature = new SshWriter().string(`ecdsa-sha2-nistp${bits}`).string(inner).toBuffer();
      expect(verifyHostSignature(blob, signature, data), bits).toBe(true);
      expect(verifyHostSignature(blob, signature, Buffer.alloc(32, 8)), bits).toBe(false);
    }
    const rsaFile = join(dir, 'rsa');
    const rsaBlob = Buffer.from((await readFile(`${rsaFile}.pub`, 'utf8')).split(' ')[1]!, 'base64');
    await execa('ssh-keygen', ['-q', '-p', '-m', 'PEM', '-N', '', '-f', rsaFile]);
    const rsaKey = createPrivateKey(await readFile(rsaFile, 'utf8'));
    for (const [algorithm, hash, ok] of [
      ['rsa-sha2-256', 'sha256', true],
      ['rsa-sha2-512', 'sha512', true],
      ['ssh-rsa', 'sha1', false],
    ] as const) {
      const signature = new SshWriter()
        .string(algorithm)
        .string(sign(hash, data, rsaKey))
        .toBuffer();
      expect(verifyHostSignature(rsaBlob, signature, data), algorithm).toBe(ok);
    }
    expect(verifyHostSignature(rsaBlob, Buffer.from('garbage'), data)).toBe(false);
    expect(createPublicKey(rsaKey).asymmetricKeyType).toBe('rsa');
  });
});
