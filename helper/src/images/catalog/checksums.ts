/**
 * The checksum for `file` in a `sha256sum`/`sha512sum` listing (`<hex>  <name>` or, binary
 * mode, `<hex> *<name>`), which Ubuntu and Debian both publish. Only a line naming exactly
 * `file` counts; a listing that names it twice with different sums is refused.
 */
export function checksumFor(listing: string, file: string, hash: 'sha256' | 'sha512'): string | undefined {
  const digits = hash === 'sha256' ? 64 : 128;
  const line = new RegExp(`^([0-9a-fA-F]{${digits}}) [ *](.+)$`);
  const found = new Set<string>();
  for (const raw of listing.split('\n')) {
    const match = line.exec(raw.replace(/\r$/, ''));
    if (match?.[2] === file) found.add(match[1]!.toLowerCase());
  }
  if (found.size > 1) throw new Error(`the checksum list names ${file} with ${found.size} different checksums`);
  return [...found][0];
}
