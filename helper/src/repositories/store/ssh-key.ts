import { createHash, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';

/** A key pair hearthd made for one owner and Git host: the private half never leaves hearthd's files. */
export interface GeneratedSshKey {
  /** PKCS#8 PEM, what node's crypto reads back (the relayed agent signs with it). */
  privateKeyPem: string;
  /** `ssh-ed25519 AAAA… comment`: the line the user adds to the Git host. */
  publicKey: string;
  /** `SHA256:…` as ssh-keygen -l prints it. */
  fingerprint: string;
}

/** SSH wire format `string`: a uint32 length, then the bytes. */
function sshString(value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function uint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

/** SHA256 of the key blob, base64 without padding: exactly what ssh-keygen -l shows. */
export function fingerprintOfBlob(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

const KEY_LINE = /^(ssh-ed25519|ecdsa-sha2-nistp(?:256|384|521)|ssh-rsa) ([A-Za-z0-9+/]+={0,3})(?: .*)?$/;

/**
 * A public key line (`type base64 [comment]`) checked for what it claims: the blob decodes, and the
 * type named inside it is the type in front. Returns the canonical `type base64` and its fingerprint.
 */
export function parsePublicKeyLine(line: string): { publicKey: string; type: string; fingerprint: string } | undefined {
  const match = KEY_LINE.exec(line.trim());
  if (!match) return undefined;
  const [, type, base64] = match as unknown as [string, string, string];
  const blob = Buffer.from(base64, 'base64');
  if (blob.toString('base64') !== base64 || blob.length < 4) return undefined;
  const nameLength = blob.readUInt32BE(0);
  if (nameLength + 4 > blob.length || blob.subarray(4, 4 + nameLength).toString('latin1') !== type) return undefined;
  return { publicKey: `${type} ${base64}`, type, fingerprint: fingerprintOfBlob(blob) };
}

/** An ed25519 key pair from node's crypto, with its public half in OpenSSH's one-line form. */
export function generateSshKey(comment: string): GeneratedSshKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const blob = Buffer.concat([sshString('ssh-ed25519'), sshString(raw)]);
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: `ssh-ed25519 ${blob.toString('base64')} ${comment}`,
    fingerprint: fingerprintOfBlob(blob),
  };
}

/**
 * The same ed25519 private key in OpenSSH's own file format (unencrypted `openssh-key-v1`): ssh
 * reads no PKCS#8 ed25519 key, so hearthd's check hands it this form, for the length of one check.
 */
export function toOpenSshPrivateKey(privateKeyPem: string, comment: string): string {
  // Parsing the PEM with node's crypto keeps this from ever writing something it did not read as a key.
  const { d, x } = createPrivateJwk(privateKeyPem);
  const seed = Buffer.from(d, 'base64url');
  const pub = Buffer.from(x, 'base64url');
  const blob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = randomBytes(4).readUInt32BE(0);
  let secret = Buffer.concat([
    uint32(check),
    uint32(check),
    sshString('ssh-ed25519'),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  const padding = (8 - (secret.length % 8)) % 8;
  secret = Buffer.concat([secret, Buffer.from(Array.from({ length: padding }, (_, i) => i + 1))]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(blob),
    sshString(secret),
  ]).toString('base64');
  const lines = body.match(/.{1,70}/g) ?? [];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

function createPrivateJwk(pem: string): { d: string; x: string } {
  const jwk = createPrivateKey(pem).export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || !jwk.d || !jwk.x) throw new Error('not an ed25519 private key');
  return { d: jwk.d, x: jwk.x };
}
