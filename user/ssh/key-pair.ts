import { lstat, mkdir, readFile, rename, chmod, rm } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { runProgram, writeAtomic } from './on-demand.js';
import type { SshPaths } from './paths.js';

/**
 * The user's own key pair for their environments: made here, as the user, by ssh-keygen; root
 * never sees the private key. hearthd only ever gets the public half, at create.
 */

/** `~/.config/hearth`, made 0700 and checked to be a directory of ours (not a link someone placed). */
export async function ensureHearthDir(paths: SshPaths): Promise<void> {
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  const stat = await lstat(paths.dir);
  if (!stat.isDirectory()) throw new Error(`${paths.dir} is not a directory`);
  if (stat.uid !== process.getuid?.()) throw new Error(`${paths.dir} belongs to uid ${stat.uid}, not to you`);
  if ((stat.mode & 0o077) !== 0) await chmod(paths.dir, 0o700);
}

const exists = (path: string) =>
  lstat(path).then(
    () => true,
    (error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    },
  );

/** The public key line, or null when there is no key pair yet (or only half of one). */
export async function readPublicKey(paths: SshPaths): Promise<string | null> {
  try {
    await lstat(paths.key);
    return (await readFile(paths.publicKey, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** A comment that passes the API's SshPublicKey pattern: printable ASCII, short. */
function keyComment(): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '').slice(0, 64) || 'unknown';
  return `hearth ${clean(userInfo().username)}@${clean(hostname())}`;
}

/**
 * Makes the ed25519 key pair unless one exists, and returns its public line. ssh-keygen writes
 * under temporary names that are renamed into place, public half first: the private key's
 * presence is what "a key exists" means, so a crash never leaves a private key without its public one.
 */
export async function ensureKeyPair(paths: SshPaths): Promise<string> {
  const existing = await readPublicKey(paths);
  if (existing !== null) return existing;
  await ensureHearthDir(paths);
  if (await exists(paths.key)) {
    // A private key whose public half went missing is still the user's key: never replace it,
    // derive the public line from it again.
    const stdout = await runProgram('ssh-keygen', ['-y', '-f', paths.key]);
    await writeAtomic(paths.publicKey, `${stdout.trim()} ${keyComment()}\n`, { mode: 0o644 });
    return (await readFile(paths.publicKey, 'utf8')).trim();
  }
  const temp = `${paths.key}.new-${process.pid}`;
  await rm(temp, { force: true });
  await rm(`${temp}.pub`, { force: true });
  try {
    await runProgram('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', keyComment(), '-f', temp]);
    await rename(`${temp}.pub`, paths.publicKey);
    await rename(temp, paths.key);
  } finally {
    await rm(temp, { force: true });
    await rm(`${temp}.pub`, { force: true });
  }
  return (await readFile(paths.publicKey, 'utf8')).trim();
}
