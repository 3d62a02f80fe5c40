import { fingerprintOf } from './keys.js';
import { SshReader } from './wire.js';

/** The host key types hearthd pins (protocol's ConfirmGitHostKey allows exactly these). */
const TYPES: readonly string[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
];

/**
 * A pinned host key as the API and known_hosts write it ("<type> <base64>", an optional comment
 * after) turned into the wire blob AgentPolicy.hostKeys holds. The type the line names must be
 * the type inside the blob: a line that says ed25519 around an RSA blob is refused, not trusted.
 */
export function hostKeyBlob(publicKey: string): { blob: Buffer; fingerprint: string } {
  const [type, base64] = publicKey.trim().split(/\s+/);
  if (!type || !base64 || !TYPES.includes(type) || !/^[A-Za-z0-9+/]+={0,3}$/.test(base64))
    throw new Error('not an SSH public key of a supported type');
  const blob = Buffer.from(base64, 'base64');
  let inside: string;
  try {
    inside = new SshReader(blob).text();
  } catch {
    throw new Error('not an SSH public key of a supported type');
  }
  if (inside !== type) throw new Error('the public key’s type does not match its contents');
  return { blob, fingerprint: fingerprintOf(blob) };
}
