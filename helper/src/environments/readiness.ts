import type { ProvisioningState, Settings } from '#protocol';
import type { AgentMessage, AgentStatus } from '../guest/agent-messages.js';
import { UsableJudge } from '../guest/usable.js';
import type { ImageStore } from '../images/image-store.js';
import type { Logger } from '../log.js';
import type { Entry } from './entry.js';
import type { LifecycleEvent } from './lifecycle.js';
import { followFile } from './log-files.js';
import type { EnvironmentRuntime } from './runtime.js';
import type { GuestSession } from '../guest/session.js';
import type { RepositoryAccess } from './repository/access.js';
import { CloneStep, needsClone } from './repository/clone-step.js';

/** Provisioning progress is saved and announced at most this often (the end of it at once). */
const PROGRESS_INTERVAL_MS = 1_000;

export interface ReadinessDeps {
  settings: () => Settings;
  images: ImageStore;
  log: (entry: Entry) => Logger;
  journal: (entry: Entry, event: string, message: string) => Promise<void>;
  dispatch: (entry: Entry, event: LifecycleEvent) => Promise<unknown>;
  persist: (entry: Entry) => Promise<void>;
  /** Repository access (the owner's credentials), for environments created from a repository. */
  repositories?: RepositoryAccess | undefined;
}

const now = () => new Date().toISOString();

/** The provisioning state a launch of a cloud-init image starts from. */
export function waitingProvisioning(): ProvisioningState {
  return { status: 'waiting', stage: null, error: null, updatedAt: now() };
}

/**
 * When a starting environment becomes `running`. Images without provisioning: their ready
 * marker on the serial console (bootTimeoutSeconds). Images with cloud-init: only when the
 * guest's agent reports through the guest session (its first subscriber) that the guest is
 * usable (guest/usable.ts); cloud-init's error is `failed` with cloud-init's own words, before
 * `running` or after it, and nothing usable within provisionTimeoutSeconds is `failed` with what
 * is missing and the last stage seen. The console is never trusted for that: any program in the guest can
 * write to it.
 */
export class Readiness {
  constructor(private readonly d: ReadinessDeps) {}

  async awaitReady(entry: Entry): Promise<void> {
    const runtime = entry.record.runtime;
    if (!runtime || entry.record.status.state !== 'starting') return;
    const manifest = (await this.d.images.get(entry.record.spec.image))?.manifest;
    if (manifest?.provisioning === 'cloud-init') {
      this.awaitProvisioning(entry);
      return;
    }
    const marker = manifest?.readyMarker ?? null;
    if (marker === null) {
      await this.d.dispatch(entry, { type: 'ready' });
      return;
    }
    const rt = entry.runtime;
    const seconds = this.d.settings().bootTimeoutSeconds;
    this.deadline(entry, seconds, () => ({
      type: 'boot-timeout',
      reason: `the guest did not print its ready marker (${marker}) within ${seconds} s (bootTimeoutSeconds); its console log may say why`,
    }));
    let seen = '';
    const stop = rt.own(
      followFile(entry.layout.console, runtime.consoleOffset, (text) => {
        seen = (seen + text).slice(-4096);
        if (!seen.includes(marker)) return;
        stop();
        void entry.serial(async () => {
          if (entry.runtime !== rt || entry.record.status.state !== 'starting') return;
          await this.d.journal(entry, 'ready', `guest printed its ready marker (${marker})`);
          await this.d.dispatch(entry, { type: 'ready' });
        });
      }),
    );
  }

  /**
   * The channel of a running environment whose VMM hearthd reattached to after a restart: keeps
   * `provisioning` current, and cloud-init's error still fails it.
   */
  watch(entry: Entry): void {
    this.listen(entry);
  }

  private awaitProvisioning(entry: Entry): void {
    const seconds = this.d.settings().provisionTimeoutSeconds;
    const { heard, judge } = this.listen(entry);
    this.deadline(entry, seconds, () => {
      const stage = lastStage(entry.record.status.provisioning, heard());
      return {
        type: 'boot-timeout',
        reason: judge.reportsReadiness
          ? `the guest was not usable within ${seconds} s (provisionTimeoutSeconds): missing ${judge.missing().join(', ')}; cloud-init's last stage seen: ${stage}`
          : `cloud-init did not finish within ${seconds} s (provisionTimeoutSeconds); the last stage seen: ${stage}`,
      };
    });
  }

  /** The timeout counts from `startedAt`, so a hearthd restart does not give the guest more time. */
  private deadline(entry: Entry, seconds: number, event: () => LifecycleEvent): void {
    const rt = entry.runtime;
    const startedAt = Date.parse(entry.record.status.startedAt ?? now());
    rt.after(Math.max(0, startedAt + seconds * 1000 - Date.now()), () => {
      void entry.serial(async () => {
        if (entry.runtime === rt) await this.d.dispatch(entry, event());
      });
    });
  }

  /** Subscribes to this runtime's guest session; `heard`: whether the agent has said anything yet. */
  private listen(entry: Entry): { heard: () => boolean; judge: UsableJudge } {
    const rt = entry.runtime;
    const session = rt.session;
    const judge = new UsableJudge({
      sshPublicKey: entry.record.spec.sshPublicKey,
      hostKeys: entry.record.components.hostKeys,
    });
    let heard = false;
    if (!session?.available) return { heard: () => heard, judge };
    const listener = new AgentListener(
      entry,
      judge,
      this.d,
      (persist) => new ProgressSaver(rt, persist, (fn) => void entry.serial(fn)),
      session,
    );
    // Only the newest message of each kind matters: however fast the guest talks, at most one
    // of each is queued, in the order they last arrived.
    const pending = new Map<AgentMessage['type'], AgentMessage>();
    const handle = async () => {
      const messages = [...pending.values()];
      pending.clear();
      for (const message of messages) {
        if (entry.runtime !== rt) return;
        heard = true;
        await listener.take(message);
      }
    };
    const onMessage = (message: AgentMessage) => {
      const queued = pending.size > 0;
      pending.delete(message.type);
      pending.set(message.type, message);
      if (!queued) void entry.serial(handle);
    };
    rt.own(session.subscribe(onMessage));
    // Each message is a whole snapshot of its kind: those that came before this subscription count.
    for (const message of session.newest()) onMessage(message);
    return { heard: () => heard, judge };
  }
}

/**
 * What one runtime's agent messages do to its environment, under the environment's lock:
 * `provisioning` kept current from `status`; `running` once the judge finds the guest usable;
 * `failed` (through `provisioning-failed`) on cloud-init's error, whether it comes before
 * `running` or after it.
 */
class AgentListener {
  private readonly progress: ProgressSaver;
  private readonly keys = new HostKeyCheck();
  private toldNotUsable = false;
  private readonly clone: CloneStep | undefined;

  constructor(
    private readonly entry: Entry,
    private readonly judge: UsableJudge,
    private readonly d: ReadinessDeps,
    saver: (persist: () => Promise<void>) => ProgressSaver,
    session: GuestSession,
  ) {
    this.progress = saver(() => d.persist(entry));
    this.clone =
      d.repositories &&
      new CloneStep(entry, session, { ...d, access: d.repositories }, async (why) => {
        await this.ready(why);
      });
  }

  async take(message: AgentMessage): Promise<void> {
    const usable = this.judge.take(message);
    if (message.type === 'readiness') {
      if (!usable) return;
      await this.tellHostKeys(message.hostKeys);
      if (await this.cloneFirst()) return;
      const stage = this.entry.record.status.provisioning?.stage;
      await this.ready(
        `the guest agent reports the user, the owner's key and sshd ready (cloud-init ${stage ? `at stage ${stage}` : 'not started'})`,
      );
      return;
    }
    const next = await this.provisioning(message);
    const fallback = `the guest agent (version ${this.judge.agentVersion}: it reports no readiness) reports that cloud-init finished`;
    // Unchanged, yet usable: a hearthd that restarted hears an older agent's `done` again.
    if (!next) {
      if (usable && !(await this.cloneFirst())) await this.ready(fallback);
      return;
    }
    const status = this.entry.record.status;
    const final = next.status === 'done' || next.status === 'error';
    if (final) await this.tellHostKeys(message.hostKeys);
    let readied = false;
    if (next.status === 'error' && (status.state === 'starting' || status.state === 'running')) {
      await this.d.dispatch(this.entry, {
        type: 'provisioning-failed',
        reason: `cloud-init finished with errors: ${next.error ?? 'unknown'}`,
      });
    } else if (usable && !(await this.cloneFirst())) {
      readied = await this.ready(fallback);
    } else if (next.status === 'done' && status.state === 'starting' && !this.toldNotUsable) {
      this.toldNotUsable = true;
      await this.d.journal(
        this.entry,
        'not-usable',
        `cloud-init finished, but the guest is not usable yet: missing ${this.judge.missing().join(', ')}`,
      );
    }
    // A `ready` saved and announced the new state, provisioning included; anything else (a
    // failure keeps the state until the VMM is gone) is saved here.
    if (!readied) await this.progress.save(final);
  }

  /** cloud-init's progress into `status.provisioning`, journaled; undefined when nothing changed. */
  private async provisioning(message: AgentStatus): Promise<ProvisioningState | undefined> {
    const status = this.entry.record.status;
    const before = status.provisioning;
    const next: ProvisioningState = {
      status: message.cloudInit,
      stage: message.stage,
      error: message.errors.length ? message.errors.join('; ').slice(0, 2000) : null,
      updatedAt: now(),
    };
    if (before?.status === next.status && before.stage === next.stage && before.error === next.error) return undefined;
    status.provisioning = next;
    await this.d.journal(
      this.entry,
      'provisioning',
      `cloud-init ${next.status}${next.stage ? ` (stage ${next.stage})` : ''}${next.error ? `: ${next.error}` : ''}`,
    );
    return next;
  }

  /**
   * An environment with a repository is usable once it is cloned too: the clone starts (once)
   * and `running` follows it. True while that is so.
   */
  private async cloneFirst(): Promise<boolean> {
    if (!needsClone(this.entry) || this.entry.record.status.state !== 'starting') return false;
    if (!this.clone) {
      await this.d.dispatch(this.entry, {
        type: 'provisioning-failed',
        reason: 'this hearthd has no repository access, so it cannot clone the repository',
      });
      return true;
    }
    this.clone.start();
    return true;
  }

  /** `running`, when it is still starting; true when it was. */
  private async ready(why: string): Promise<boolean> {
    if (this.entry.record.status.state !== 'starting') return false;
    await this.d.journal(this.entry, 'ready', why);
    await this.d.dispatch(this.entry, { type: 'ready' });
    return true;
  }

  private async tellHostKeys(hostKeys: string[]): Promise<void> {
    const said = this.keys.check(this.entry, hostKeys);
    if (said) await this.d.journal(this.entry, said.event, said.message);
  }
}

function lastStage(provisioning: ProvisioningState | undefined, heard: boolean): string {
  if (provisioning?.stage) return `${provisioning.stage} (cloud-init ${provisioning.status})`;
  return heard
    ? 'none: the guest agent reported that cloud-init had not started'
    : 'none: the guest agent never reported';
}

/** Saves progress at most every PROGRESS_INTERVAL_MS; what is held back goes out with the next save. */
class ProgressSaver {
  private last = 0;
  private pending = false;

  constructor(
    private readonly rt: EnvironmentRuntime,
    /** Saves and announces; called under the environment's lock. */
    private readonly persist: () => Promise<void>,
    /** Runs under the environment's lock, for a save that was held back. */
    private readonly serial: (fn: () => Promise<void>) => void,
  ) {}

  async save(now: boolean): Promise<void> {
    const wait = this.last + PROGRESS_INTERVAL_MS - Date.now();
    if (now || wait <= 0) {
      this.last = Date.now();
      this.pending = false;
      await this.persist();
      return;
    }
    if (this.pending) return;
    this.pending = true;
    this.rt.after(wait, () =>
      this.serial(async () => {
        if (this.pending) await this.save(true);
      }),
    );
  }
}

/** The guest's own view of its host keys, compared with hearthd's: a difference is told, never believed. */
class HostKeyCheck {
  private told = false;

  /**
   * Once, when the guest is usable or cloud-init has finished (before that the guest may still
   * have the image's keys, or none).
   */
  check(entry: Entry, hostKeys: string[]): { event: string; message: string } | undefined {
    if (this.told) return undefined;
    const ours = new Set((entry.record.components.hostKeys ?? []).map((k) => k.publicKey));
    if (ours.size === 0) return undefined;
    this.told = true;
    const foreign = hostKeys.filter((k) => !ours.has(k));
    const missing = [...ours].filter((k) => !hostKeys.includes(k));
    if (foreign.length === 0 && missing.length === 0)
      return { event: 'host-keys', message: `the guest has exactly the ${ours.size} host keys hearthd made for it` };
    const types = (keys: string[]) => keys.map((k) => k.split(' ')[0]).join(', ') || 'none';
    return {
      event: 'host-key-mismatch',
      message: `the guest reports host keys hearthd did not make for it (${types(foreign)}; missing: ${types(
        missing,
      )}); they are not trusted: the API keeps reporting hearthd's own`,
    };
  }
}
