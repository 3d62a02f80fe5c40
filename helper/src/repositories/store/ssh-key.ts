import { fingerprintOf } from '../ssh-agent/index.js';

const KEY_LINE = /^(ssh-ed25519|ecdsa-sha2-nistp(?:256|384|521)|ssh-rsa) ([A-Za-z0-9+/]+={0,3})(?: .*)?$/;

/**
 * A public key line (`type base64 [comment]`) checked for what it claims: the blob decodes, and the
 * type named inside it is the type in front. Returns the canonical `type base64` and its
 * fingerprint (SHA256 of the blob, as ssh-keygen -l prints it).
 */
export function parsePublicKeyLine(line: string): { publicKey: string; type: string; fingerprint: string } | undefined {
  const match = KEY_LINE.exec(line.trim());
  if (!match) return undefined;
  const [, type, base64] = match as unknown as [string, string, string];
  const blob = Buffer.from(base64, 'base64');
  if (blob.toString('base64') !== base64 || blob.length < 4) return undefined;
  const nameLength = blob.readUInt32BE(0);
  if (nameLength + 4 > blob.length || blob.subarray(4, 4 + nameLength).toString('latin1') !== type) return undefined;
  return { publicKey: `${type} ${base64}`, type, fingerprint: fingerprintOf(blob) };
}
