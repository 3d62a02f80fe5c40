import { messageOf } from '../../errors.js';
import type { Entry } from '../entry.js';
import type { LifecycleEvent } from '../lifecycle.js';
import { pendingClone, type RepositoryStatus } from '../record.js';
import type { RepositoryAccess } from './access.js';
import { cloneRepository } from './clone.js';
import type { GuestExec } from './guest-exec.js';
import { configureGuestGit } from './guest-git-config.js';

/** Clone progress is saved and announced at most this often. */
const PROGRESS_INTERVAL_MS = 1_000;

export interface CloneStepDeps {
  access: RepositoryAccess;
  journal: (entry: Entry, event: string, message: string) => Promise<void>;
  dispatch: (entry: Entry, event: LifecycleEvent) => Promise<unknown>;
  /** Saves the record and announces the environment (under its lock). */
  persist: (entry: Entry) => Promise<void>;
}

/** Whether the environment still waits for its repository before it is usable. */
export function needsClone(entry: Entry): boolean {
  return entry.record.spec.repository !== undefined && entry.record.status.repository?.clone.status !== 'done';
}

/**
 * The last step of provisioning for an environment with a repository: once the guest is usable,
 * configure its git and ssh for the repository's host and clone, as the environment's user, with
 * progress saved as it comes; `ready` follows the clone (`onCloned`), and a failed clone fails
 * the environment with git's own words. Runs beside the environment's lock, never holding it
 * (a clone takes minutes; a stop must not wait for it), and does nothing once its runtime is
 * gone.
 */
export class CloneStep {
  private started = false;

  constructor(
    private readonly entry: Entry,
    private readonly guest: GuestExec & { whenPeer(graceMs?: number): Promise<unknown> },
    private readonly d: CloneStepDeps,
    private readonly onCloned: (why: string) => Promise<void>,
  ) {}

  /** Starts the clone once per runtime. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const rt = this.entry.runtime;
    const repository = this.entry.record.spec.repository!;
    const current = () => this.entry.runtime === rt;
    const locked = (fn: () => Promise<void>) =>
      this.entry.serial(async () => {
        if (current()) await fn();
      });
    const status = (): RepositoryStatus => (this.entry.record.status.repository ??= pendingClone());
    let lastSave = 0;

    void (async () => {
      try {
        await this.guest.whenPeer();
        const facts = await this.d.access.guestFacts(this.entry.record.spec.owner.uid, repository);
        await configureGuestGit(this.guest, { repository, ...this.d.access.guestPaths, ...facts });
        await locked(async () => {
          status().clone = { status: 'cloning', phase: null, percent: null, error: null };
          await this.d.journal(this.entry, 'clone-started', `cloning ${repository.url}${refText(repository.ref)}`);
          await this.d.persist(this.entry);
        });
        const { commit } = await cloneRepository(this.guest, repository, (progress) => {
          if (!current()) return;
          status().clone = { status: 'cloning', phase: progress.phase, percent: progress.percent, error: null };
          if (Date.now() - lastSave < PROGRESS_INTERVAL_MS) return;
          lastSave = Date.now();
          void locked(() => this.d.persist(this.entry));
        });
        await locked(async () => {
          this.entry.record.status.repository = {
            commit,
            clone: { status: 'done', phase: null, percent: 100, error: null },
          };
          await this.d.journal(this.entry, 'cloned', `cloned ${repository.url}${refText(repository.ref)} at ${commit}`);
          await this.d.persist(this.entry);
          await this.onCloned(`the repository is cloned at ${commit.slice(0, 12)} and the guest is usable`);
        });
      } catch (error) {
        const message = messageOf(error);
        await locked(async () => {
          status().clone = { status: 'error', phase: null, percent: null, error: message.slice(0, 4000) };
          await this.d.journal(this.entry, 'clone-failed', message);
          await this.d.dispatch(this.entry, {
            type: 'provisioning-failed',
            reason: `the repository could not be cloned: ${message}`,
            gracefully: true,
          });
        });
      }
    })();
  }
}

const refText = (ref: string | null) => (ref === null ? ' (default branch)' : ` at ${ref}`);
