import { chmod, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { HostKey } from '#protocol';
import { readBounded } from '../system/safe-read.js';

/**
 * The guest's SSH host keys, made by hearthd before the guest first boots, so the user's side
 * can pin them (known_hosts) from the API instead of trusting whatever answers on first connect.
 * The private halves stay in the environment's state directory (root 0600) and reach the guest
 * only through its own seed disk (cloud-init `ssh_keys`).
 */
export const HOST_KEY_TYPES = ['ed25519', 'ecdsa'] as const;
export type HostKeyType = (typeof HOST_KEY_TYPES)[number];

/** A private key file ssh-keygen writes is a few hundred bytes; anything larger is not one. */
const KEY_MAX_BYTES = 16 * 1024;

export function hostKeyFile(stateDir: string, type: HostKeyType): string {
  return join(stateDir, `ssh_host_${type}_key`);
}

const run = (sshKeygen: string, args: string[]) =>
  execa(sshKeygen, args, { stdin: 'ignore', timeout: 30_000, env: { LC_ALL: 'C' }, extendEnv: false });

/** Generates every type's pair afresh in `stateDir` and returns the public halves with fingerprints. */
export async function generateHostKeys(sshKeygen: string, stateDir: string, comment: string): Promise<HostKey[]> {
  const keys: HostKey[] = [];
  for (const type of HOST_KEY_TYPES) {
    const file = hostKeyFile(stateDir, type);
    // ssh-keygen asks before overwriting (and fails without a terminal): a retried create starts clean.
    await rm(file, { force: true });
    await rm(`${file}.pub`, { force: true });
    await run(sshKeygen, [
      '-q',
      '-t',
      type,
      ...(type === 'ecdsa' ? ['-b', '256'] : []),
      '-N',
      '',
      '-C',
      comment,
      '-f',
      file,
    ]);
    await chmod(file, 0o600);
    await chmod(`${file}.pub`, 0o600);
    const publicLine = (await readBounded(`${file}.pub`, KEY_MAX_BYTES)) ?? '';
    const [keyType = '', body = ''] = publicLine.trim().split(/\s+/);
    const { stdout } = await run(sshKeygen, ['-l', '-E', 'sha256', '-f', `${file}.pub`]);
    const fingerprint = /\b(SHA256:[A-Za-z0-9+/]+)/.exec(stdout)?.[1];
    if (!keyType || !body || !fingerprint) throw new Error(`ssh-keygen made no usable ${type} key`);
    keys.push({ type: keyType, publicKey: `${keyType} ${body}`, fingerprint });
  }
  return keys;
}

/** The private halves, for the seed's `ssh_keys` (cloud-init's key names: `<type>_private`). */
export async function readHostPrivateKeys(stateDir: string): Promise<Partial<Record<HostKeyType, string>>> {
  const found: Partial<Record<HostKeyType, string>> = {};
  for (const type of HOST_KEY_TYPES) {
    const text = await readBounded(hostKeyFile(stateDir, type), KEY_MAX_BYTES);
    if (text !== undefined) found[type] = text;
  }
  return found;
}

/** Removes the pairs (at delete; the state directory goes too, this only says which files they are). */
export async function removeHostKeys(stateDir: string): Promise<void> {
  for (const type of HOST_KEY_TYPES) {
    await rm(hostKeyFile(stateDir, type), { force: true });
    await rm(`${hostKeyFile(stateDir, type)}.pub`, { force: true });
  }
}

/** cloud-init's name for a host key type (`ssh_keys: {ed25519_private, ed25519_public, …}`). */
export function keyTypeOf(publicKeyType: string): HostKeyType | undefined {
  if (publicKeyType === 'ssh-ed25519') return 'ed25519';
  if (publicKeyType.startsWith('ecdsa-sha2-')) return 'ecdsa';
  return undefined;
}
