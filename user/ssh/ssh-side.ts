import { readFile } from 'node:fs/promises';
import type { Environment, SshSetup } from '#protocol';
import { readIncludeState, includeLine, setInclude } from './include.js';
import { ensureHearthDir, ensureKeyPair, readPublicKey } from './key-pair.js';
import type { SshPaths } from './paths.js';
import { renderKnownHosts, renderSshConfig, sshEntries } from './ssh-config.js';
import { writeAtomic } from './on-demand.js';

export interface SshSideOptions {
  paths: SshPaths;
  /** The environments as hearthd reports them to this user. */
  listEnvironments: () => Promise<Environment[]>;
  /** Whose environments get entries (the app's uid); null: every one listed. */
  uid: number | null;
  onError?: (error: unknown) => void;
}

async function readOrNull(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Writes `text` only when it differs, so a sync that changes nothing touches nothing. */
async function writeIfChanged(path: string, text: string): Promise<boolean> {
  if ((await readOrNull(path)) === text) return false;
  await writeAtomic(path, text, { mode: 0o600 });
  return true;
}

/**
 * The user's side of SSH as one service: the key pair, the Hearth-owned ssh_config and
 * known_hosts kept in step with the environment list, and the Include consent. The app and the
 * `hearth` command (user/ is shared by both) use it, so the two can never write different files.
 */
export class SshSide {
  private running: Promise<unknown> = Promise.resolve();
  private pending: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly options: SshSideOptions) {}

  get paths(): SshPaths {
    return this.options.paths;
  }

  async setup(): Promise<SshSetup> {
    const { paths } = this.options;
    return {
      publicKey: await readPublicKey(paths),
      keyPath: paths.key,
      configPath: paths.config,
      userConfigPath: paths.userConfig,
      include: await readIncludeState(paths),
      includeLine: includeLine(paths),
    };
  }

  async createKey(): Promise<SshSetup> {
    await ensureKeyPair(this.options.paths);
    return this.setup();
  }

  async setInclude(enabled: boolean): Promise<SshSetup> {
    // The Include must never point at a file that is not there: ssh would skip it silently, but
    // the user would see "Could not resolve hostname web.hearth" with nothing to explain it.
    if (enabled) await this.sync();
    await setInclude(this.options.paths, enabled);
    return this.setup();
  }

  /** Rewrites ssh_config and known_hosts from hearthd's list; returns the host names written. */
  sync(): Promise<string[]> {
    const next = this.running.then(() => this.syncNow());
    this.running = next.catch(() => undefined);
    return next;
  }

  /** A sync soon, once: events come in bursts (a start is several state changes). */
  scheduleSync(delayMs = 250): void {
    if (this.pending !== null) return;
    this.pending = setTimeout(() => {
      this.pending = null;
      this.sync().catch((error: unknown) => this.options.onError?.(error));
    }, delayMs);
  }

  cancel(): void {
    if (this.pending !== null) clearTimeout(this.pending);
    this.pending = null;
  }

  private async syncNow(): Promise<string[]> {
    const { paths } = this.options;
    const entries = sshEntries(await this.options.listEnvironments(), this.options.uid);
    await ensureHearthDir(paths);
    // known_hosts first: a config naming a host whose keys are not written yet would fail strict checking.
    await writeIfChanged(paths.knownHosts, renderKnownHosts(entries));
    await writeIfChanged(paths.config, renderSshConfig(entries, paths));
    return entries.map((e) => `${e.name}.hearth`);
  }
}
