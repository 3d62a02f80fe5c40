import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { findExecutable } from '../../system/executables.js';
import { HostRoot } from '../../system/host-root.js';

export class PackageError extends Error {}

const AR_MAGIC = '!<arch>\n';
const HEADER = 60;

/**
 * The `data.tar.*` member of a Debian package (an `ar` archive: an 8-byte magic, then per member
 * a 60-byte header — name, mtime, ids, mode, decimal size, "`\n" — and the data, padded to even).
 * The package is small and already digest-checked; this only finds the member.
 */
export function dataMember(deb: Buffer): { name: string; data: Buffer } {
  if (deb.subarray(0, AR_MAGIC.length).toString('latin1') !== AR_MAGIC) throw new PackageError('not a Debian package');
  let offset = AR_MAGIC.length;
  while (offset + HEADER <= deb.length) {
    const header = deb.subarray(offset, offset + HEADER).toString('latin1');
    if (header.slice(58, 60) !== '`\n') throw new PackageError('a damaged ar header');
    const name = header.slice(0, 16).trim().replace(/\/$/, '');
    const size = Number(header.slice(48, 58).trim());
    if (!Number.isSafeInteger(size) || offset + HEADER + size > deb.length)
      throw new PackageError('an ar member runs past the end');
    if (/^data\.tar(\.(xz|gz|zst|bz2))?$/.test(name))
      return { name, data: deb.subarray(offset + HEADER, offset + HEADER + size) };
    offset += HEADER + size + (size % 2);
  }
  throw new PackageError('no data.tar member');
}

/**
 * Extracts `member` of the package at `debPath` to `dest` with the system's tar (found in system
 * directories only, as every tool hearthd runs; GNU tar and bsdtar read xz, gzip and zstd
 * archives by themselves). Returns its SHA-256 and size.
 */
export async function extractFromDeb(
  debPath: string,
  member: string,
  workDir: string,
  dest: string,
  limit: number,
): Promise<{ sha256: string; size: number }> {
  const data = dataMember(await readFile(debPath));
  const tarFile = join(workDir, data.name);
  await writeFile(tarFile, data.data, { mode: 0o600 });
  const tar = await findExecutable(new HostRoot('/'), 'tar');
  if (!tar.found) throw new PackageError('tar is not installed');
  // Into the root-only staging directory: the file's mode there does not matter yet.
  const result = await execa(tar.executable.hostPath, ['-x', '-O', '-f', tarFile, member], {
    stdout: { file: dest },
    stderr: 'pipe',
    reject: false,
    timeout: 120_000,
    env: { LC_ALL: 'C', PATH: '/usr/bin:/bin' },
    extendEnv: false,
  });
  if (result.exitCode !== 0) throw new PackageError(`tar could not extract ${member}: ${result.stderr.slice(0, 300)}`);
  const bytes = await readFile(dest);
  if (bytes.length > limit) throw new PackageError(`${member} is larger than the pinned ${limit} bytes`);
  return { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
}
