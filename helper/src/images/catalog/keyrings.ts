import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Set by scripts/build.ts in the bundle: assets/keyrings/*.gpg, base64. Absent from source. */
declare const HEARTHD_KEYRINGS: Record<string, string> | undefined;

/** assets/keyrings/ of a checkout, for hearthd run from source (tsx). */
const SOURCE_DIR = join(import.meta.dirname, '..', '..', '..', '..', 'assets', 'keyrings');

/**
 * The bytes of a shipped keyring. The bundle carries them inside itself, so a keyring is exactly
 * as trustworthy as the hearthd file that runs; nothing is read from a path at run time.
 */
export async function shippedKeyring(file: string): Promise<Buffer> {
  if (typeof HEARTHD_KEYRINGS === 'object') {
    const encoded = HEARTHD_KEYRINGS[file];
    if (encoded === undefined) throw new Error(`keyring ${file} is not in this build of hearthd`);
    return Buffer.from(encoded, 'base64');
  }
  return readFile(join(SOURCE_DIR, file));
}
