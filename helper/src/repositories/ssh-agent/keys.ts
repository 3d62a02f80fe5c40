import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { SshReader, SshWriter, WireError } from './wire.js';

/**
 * The key hearthd generates per owner and Git host: ed25519, kept as an unencrypted OpenSSH
 * private key ("-----BEGIN OPENSSH PRIVATE KEY-----"). That format, not PKCS#8, because OpenSSH
 * 9.2 (Debian 12) cannot read an ed25519 key in PKCS#8 — hearthd's own access check hands the
 * key to `ssh`, and the agent here reads it back with loadSshKey.
 */

/** The one key the agent offers: what AgentPolicy.key holds. */
export interface AgentKey {
  /** SSH wire format: string "ssh-ed25519", string 32-byte public key. */
  publicKeyBlob: Buffer;
  privateKey: KeyObject;
  comment: string;
}

export interface GeneratedSshKey {
  /** The secret: stored root-only, never logged, never shown. */
  privateKeyPem: string;
  /** One authorized_keys line: "ssh-ed25519 AAAA… comment", for the user to add to the Git host. */
  publicKey: string;
  /** "SHA256:…", as `ssh-keygen -l` and the Git hosts show it. */
  fingerprint: string;
}

const KEY_TYPE = 'ssh-ed25519';
const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');
const PEM_BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const PEM_END = '-----END OPENSSH PRIVATE KEY-----';
/** OpenSSH pads the private section to the cipher's block size; "none" counts as 8. */
const BLOCK = 8;

/** A comment ends up in authorized_keys lines and the Git host's UI: one printable line. */
const COMMENT = /^[\x20-\x7e]{0,200}$/;

export function generateSshKey(comment: string): GeneratedSshKey {
  if (!COMMENT.test(comment))
    throw new Error('an SSH key comment is one line of printable ASCII, at most 200 characters');
  const { privateKey } = generateKeyPairSync('ed25519');
  const { seed, publicKey } = rawEd25519(privateKey);
  const blob = publicKeyBlob(publicKey);
  return {
    privateKeyPem: encodePrivateKey(seed, publicKey, comment),
    publicKey: `${KEY_TYPE} ${blob.toString('base64')}${comment ? ` ${comment}` : ''}`,
    fingerprint: fingerprintOf(blob),
  };
}

/** The agent's key from a stored private key; throws on anything but an unencrypted ed25519 OpenSSH key. */
export function loadSshKey(privateKeyPem: string): AgentKey {
  const text = privateKeyPem.trim();
  if (!text.startsWith(PEM_BEGIN) || !text.endsWith(PEM_END)) throw new Error('not an OpenSSH private key');
  const body = text.slice(PEM_BEGIN.length, -PEM_END.length).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw new Error('not an OpenSSH private key');
  try {
    return decodePrivateKey(Buffer.from(body, 'base64'));
  } catch (error) {
    // The reason, never the bytes: they are the secret.
    if (error instanceof WireError) throw new Error(`a malformed OpenSSH private key: ${error.message}`);
    throw error;
  }
}

export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function publicKeyBlob(publicKey: Buffer): Buffer {
  return new SshWriter().string(KEY_TYPE).string(publicKey).toBuffer();
}

function rawEd25519(privateKey: KeyObject): { seed: Buffer; publicKey: Buffer } {
  const jwk = privateKey.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || !jwk.d || !jwk.x) throw new Error('not an ed25519 key');
  return { seed: Buffer.from(jwk.d, 'base64url'), publicKey: Buffer.from(jwk.x, 'base64url') };
}

function encodePrivateKey(seed: Buffer, publicKey: Buffer, comment: string): string {
  // Two equal random words let a reader tell a wrong passphrase from a corrupt file; with no
  // encryption they only have to match, but random is what OpenSSH writes.
  const check = randomBytes(4).readUInt32BE();
  const section = new SshWriter()
    .uint32(check)
    .uint32(check)
    .string(KEY_TYPE)
    .string(publicKey)
    .string(Buffer.concat([seed, publicKey]))
    .string(comment);
  let length = section.toBuffer().length;
  for (let pad = 1; length % BLOCK !== 0; pad++, length++) section.byte(pad);
  const whole = new SshWriter()
    .raw(MAGIC)
    .string('none')
    .string('none')
    .string(Buffer.alloc(0))
    .uint32(1)
    .string(publicKeyBlob(publicKey))
    .string(section.toBuffer())
    .toBuffer();
  const lines = whole.toString('base64').match(/.{1,70}/g) ?? [];
  return `${PEM_BEGIN}\n${lines.join('\n')}\n${PEM_END}\n`;
}

function decodePrivateKey(bytes: Buffer): AgentKey {
  if (!bytes.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not an OpenSSH private key');
  const outer = new SshReader(bytes.subarray(MAGIC.length));
  if (outer.text() !== 'none' || outer.text() !== 'none' || outer.string().length !== 0)
    throw new Error('the SSH key is encrypted; hearthd keeps only keys it generated, unencrypted and root-only');
  if (outer.uint32() !== 1) throw new Error('an OpenSSH private key file holding more than one key');
  const blob = outer.string();
  const section = new SshReader(outer.string());
  outer.end();
  if (section.uint32() !== section.uint32()) throw new Error('a corrupt OpenSSH private key');
  if (section.text() !== KEY_TYPE) throw new Error('only ed25519 keys are supported');
  const publicKey = section.string();
  const secret = section.string();
  const comment = section.string().toString('utf8');
  for (let pad = 1; section.remaining > 0; pad++) {
    if (section.byte() !== (pad & 0xff)) throw new Error('a corrupt OpenSSH private key');
  }
  if (publicKey.length !== 32 || secret.length !== 64 || !secret.subarray(32).equals(publicKey))
    throw new Error('a corrupt ed25519 key');
  if (!blob.equals(publicKeyBlob(publicKey)))
    throw new Error('the key file’s public key does not match its private key');
  const privateKey = createPrivateKey({
    key: {
      kty: 'OKP',
      crv: 'Ed25519',
      d: secret.subarray(0, 32).toString('base64url'),
      x: publicKey.toString('base64url'),
    },
    format: 'jwk',
  });
  // The public half must be the one the seed derives, or the agent would offer one key and sign with another.
  const derived = createPublicKey(privateKey).export({ format: 'jwk' }).x;
  if (derived !== publicKey.toString('base64url'))
    throw new Error('the key file’s public key does not match its private key');
  return { publicKeyBlob: blob, privateKey, comment };
}
