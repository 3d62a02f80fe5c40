import { readFile, rm, writeFile } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';
import { isMissing } from '../system/host-root.js';

export const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

/**
 * IPv4 forwarding, which NAT for the guests needs. The value found before hearthd set it is
 * kept in a root-only file (`record`), written before the switch, so a crash or restart still
 * knows what to restore; the file exists exactly while hearthd holds forwarding. The switch comes
 * last, after the rules: a crash in between leaves the host routing nothing new.
 */
export class Forwarding {
  constructor(
    private readonly record: string,
    private readonly proc = IP_FORWARD,
  ) {}

  /**
   * Records the value found before hearthd (once), without changing it; true when it was off
   * (then hearthd forwards for its bridge only). Rules that say so must be in place before `enable`.
   */
  async remember(): Promise<boolean> {
    let previous = await this.previous();
    if (previous === undefined) {
      previous = (await readFile(this.proc, 'utf8')).trim() === '1' ? '1' : '0';
      await writeFileAtomic(this.record, `${previous}\n`, { mode: 0o600 });
    }
    return previous === '0';
  }

  /** Turns forwarding on; call only once the rules that restrict it are in place. */
  async enable(): Promise<void> {
    if ((await readFile(this.proc, 'utf8')).trim() !== '1') await writeFile(this.proc, '1\n');
  }

  /** Puts back what was there before `hold`; nothing when hearthd holds nothing. */
  async release(): Promise<void> {
    const previous = await this.previous();
    if (previous === undefined) return;
    if (previous === '0') await writeFile(this.proc, '0\n');
    await rm(this.record, { force: true });
  }

  /** The value before hearthd, if hearthd holds forwarding now. */
  async previous(): Promise<'0' | '1' | undefined> {
    try {
      const text = (await readFile(this.record, 'utf8')).trim();
      return text === '1' ? '1' : '0'; // anything unexpected: restore the safe value
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }
}
