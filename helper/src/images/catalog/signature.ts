import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

export class SignatureError extends Error {}

/** What gpgv's status lines say about a signature, for a message a person can act on. */
function explain(status: string): string {
  const key = (tag: string) => new RegExp(`^\\[GNUPG:\\] ${tag} (\\S+)`, 'm').exec(status)?.[1];
  if (key('BADSIG')) return `the signature does not match the checksum list (key ${key('BADSIG')})`;
  if (key('NO_PUBKEY')) return `it is signed by key ${key('NO_PUBKEY')}, which is not in the shipped keyring`;
  if (key('EXPKEYSIG')) return `it is signed by key ${key('EXPKEYSIG')}, which has expired`;
  if (key('REVKEYSIG')) return `it is signed by key ${key('REVKEYSIG')}, which has been revoked`;
  if (/^\[GNUPG:\] NODATA/m.test(status)) return 'the signature file holds no signature';
  return 'gpgv did not accept the signature';
}

/**
 * Checks a detached signature over `data` with gpgv against `keyring` alone. Every file gpgv
 * reads is written by hearthd into a fresh root-only directory (also its --homedir, so no
 * trustedkeys.kbx of root's is consulted); only the exact bytes checked here are then used.
 */
export async function verifyDetached(
  gpgv: string,
  workDir: string,
  keyring: Buffer,
  data: Buffer,
  signature: Buffer,
): Promise<{ fingerprint: string; signedAt: number }> {
  const dir = await mkdtemp(join(workDir, '.gpgv-'));
  try {
    const files = { keyring: join(dir, 'keyring.gpg'), data: join(dir, 'data'), signature: join(dir, 'data.sig') };
    await Promise.all([
      writeFile(files.keyring, keyring, { mode: 0o600 }),
      writeFile(files.data, data, { mode: 0o600 }),
      writeFile(files.signature, signature, { mode: 0o600 }),
    ]);
    const result = await execa(
      gpgv,
      ['--homedir', dir, '--status-fd', '1', '--keyring', files.keyring, files.signature, files.data],
      { reject: false, timeout: 60_000, stdin: 'ignore', env: { LC_ALL: 'C' }, extendEnv: false, maxBuffer: 1 << 20 },
    );
    const status = result.stdout;
    // Exit 0 alone is not enough: gpgv must also name the key that made a valid signature.
    // VALIDSIG <fingerprint> <creation date> <creation time, seconds since the epoch> ...
    const valid = /^\[GNUPG:\] VALIDSIG ([0-9A-F]{40}) \S+ (\d+) /m.exec(status);
    if (result.exitCode !== 0 || !valid || !/^\[GNUPG:\] GOODSIG /m.test(status))
      throw new SignatureError(explain(status));
    return { fingerprint: valid[1]!, signedAt: Number(valid[2]) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
