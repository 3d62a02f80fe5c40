import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { SshReader, WireError } from './wire.js';

/**
 * Checks a server's host-key signature over an SSH session identifier, as `session-bind@openssh.com`
 * carries it. The keys come as SSH wire blobs; node's crypto verifies once they are rebuilt as JWKs.
 * Host keys of the kinds Git hosts use: ed25519, ECDSA on the NIST curves, RSA with SHA-2 (SHA-1
 * `ssh-rsa` signatures are refused, as OpenSSH itself refuses them by default since 8.8).
 */

const CURVES = {
  nistp256: { crv: 'P-256', bytes: 32, hash: 'sha256' },
  nistp384: { crv: 'P-384', bytes: 48, hash: 'sha384' },
  nistp521: { crv: 'P-521', bytes: 66, hash: 'sha512' },
} as const;
type CurveName = keyof typeof CURVES;
const isCurve = (name: string): name is CurveName => Object.hasOwn(CURVES, name);

const RSA_HASHES: Record<string, string> = { 'rsa-sha2-256': 'sha256', 'rsa-sha2-512': 'sha512' };
/** OpenSSH refuses RSA keys under 1024 bits; a host pinned with less is not one we trust either. */
const RSA_MIN_BYTES = 1024 / 8;

/** True when `signatureBlob` is `hostKeyBlob`'s valid signature of `data`; false for anything else, malformed included. */
export function verifyHostSignature(hostKeyBlob: Buffer, signatureBlob: Buffer, data: Buffer): boolean {
  try {
    return verifyOrThrow(hostKeyBlob, signatureBlob, data);
  } catch {
    // A malformed key or signature proves nothing: the same answer as a wrong one.
    return false;
  }
}

function verifyOrThrow(hostKeyBlob: Buffer, signatureBlob: Buffer, data: Buffer): boolean {
  const keyReader = new SshReader(hostKeyBlob);
  const keyType = keyReader.text();
  const sigReader = new SshReader(signatureBlob);
  const algorithm = sigReader.text();
  const signature = sigReader.string();
  sigReader.end();

  if (keyType === 'ssh-ed25519') {
    const publicKey = keyReader.string();
    keyReader.end();
    if (algorithm !== keyType || publicKey.length !== 32 || signature.length !== 64) return false;
    return verify(null, data, jwkKey({ kty: 'OKP', crv: 'Ed25519', x: publicKey.toString('base64url') }), signature);
  }

  if (keyType.startsWith('ecdsa-sha2-')) {
    const curveName = keyReader.text();
    const point = keyReader.string();
    keyReader.end();
    if (!isCurve(curveName) || keyType !== `ecdsa-sha2-${curveName}` || algorithm !== keyType) return false;
    const curve = CURVES[curveName];
    // Uncompressed points only (0x04 ‖ x ‖ y), as RFC 5656 requires of SSH.
    if (point.length !== 1 + 2 * curve.bytes || point[0] !== 0x04) return false;
    const key = jwkKey({
      kty: 'EC',
      crv: curve.crv,
      x: point.subarray(1, 1 + curve.bytes).toString('base64url'),
      y: point.subarray(1 + curve.bytes).toString('base64url'),
    });
    const inner = new SshReader(signature);
    const r = fixedWidth(inner.positiveMpint(), curve.bytes);
    const s = fixedWidth(inner.positiveMpint(), curve.bytes);
    inner.end();
    return verify(curve.hash, data, { key, dsaEncoding: 'ieee-p1363' }, Buffer.concat([r, s]));
  }

  if (keyType === 'ssh-rsa') {
    const exponent = keyReader.positiveMpint();
    const modulus = keyReader.positiveMpint();
    keyReader.end();
    const hash = RSA_HASHES[algorithm];
    if (!hash || modulus.length < RSA_MIN_BYTES || signature.length > modulus.length) return false;
    const key = jwkKey({ kty: 'RSA', n: modulus.toString('base64url'), e: exponent.toString('base64url') });
    // Some signers drop leading zero bytes; the verifier wants the modulus's full width.
    return verify(hash, data, key, fixedWidth(signature, modulus.length));
  }

  return false;
}

function jwkKey(jwk: JsonWebKey): KeyObject {
  return createPublicKey({ key: jwk, format: 'jwk' });
}

function fixedWidth(value: Buffer, width: number): Buffer {
  if (value.length > width) throw new WireError('an integer wider than its curve or modulus');
  return Buffer.concat([Buffer.alloc(width - value.length), value]);
}
