import { Type } from '@sinclair/typebox';
import type { GitHostKey } from '#protocol';
import { DomainError } from '../../errors.js';
import type { OwnerFiles } from './owner-files.js';
import { PRELOADED_HOST_KEYS } from './preloaded-host-keys.js';
import { parsePublicKeyLine } from './ssh-key.js';

const HostKeysFile = Type.Object({
  hostKeys: Type.Array(Type.Object({ host: Type.String(), publicKey: Type.String(), confirmedAt: Type.String() })),
});
const FILE = 'host-keys';

/**
 * SSH Git hosts' keys each owner trusts (`host-keys.json`): the published keys of the big hosts,
 * for everyone, plus the keys the owner confirmed after a check showed them the fingerprint.
 * Strict checking uses exactly these, in hearthd's check and (through the lead) in the guest.
 */
export class HostKeyStore {
  constructor(private readonly files: OwnerFiles) {}

  private async confirmed(uid: number) {
    return (await this.files.read(uid, FILE, HostKeysFile, { hostKeys: [] })).hostKeys;
  }

  async list(uid: number): Promise<GitHostKey[]> {
    const preloaded = PRELOADED_HOST_KEYS.map((key) => ({
      host: key.host,
      publicKey: key.publicKey,
      fingerprint: key.fingerprint,
      source: 'preloaded' as const,
      confirmedAt: null,
    }));
    const confirmed = (await this.confirmed(uid)).map((key) => ({
      host: key.host,
      publicKey: key.publicKey,
      fingerprint: parsePublicKeyLine(key.publicKey)?.fingerprint ?? '',
      source: 'confirmed' as const,
      confirmedAt: key.confirmedAt,
    }));
    return [...preloaded, ...confirmed];
  }

  /**
   * Trusts `publicKey` for `host`. A key the owner confirmed earlier for that host with the same
   * type is replaced: confirming after "host key changed" is how a rotation is accepted.
   */
  confirm(uid: number, host: string, publicKey: string): Promise<GitHostKey[]> {
    return this.files.exclusive(uid, async () => {
      const parsed = parsePublicKeyLine(publicKey);
      if (!parsed) throw new DomainError('invalid', 'That is not an SSH public key: its type and contents disagree');
      const typeOf = (line: string) => line.split(' ')[0];
      const kept = (await this.confirmed(uid)).filter(
        (key) => !(key.host === host && typeOf(key.publicKey) === parsed.type),
      );
      kept.push({ host, publicKey: parsed.publicKey, confirmedAt: new Date().toISOString() });
      await this.files.write(uid, FILE, { hostKeys: kept });
      return this.list(uid);
    });
  }

  /** The keys `host` (as credentials are keyed: host[:port]) may present to this owner, as "type base64" lines. */
  async pinnedHostKeys(uid: number, host: string): Promise<string[]> {
    return (await this.list(uid)).filter((key) => key.host === host).map((key) => key.publicKey);
  }
}
