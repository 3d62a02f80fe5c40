import type { ProvisioningState, Settings } from '#protocol';
import type { AgentMessage } from '../guest/agent-messages.js';
import type { ImageStore } from '../images/image-store.js';
import type { Logger } from '../log.js';
import type { Entry } from './entry.js';
import type { LifecycleEvent } from './lifecycle.js';
import { followFile } from './log-files.js';
import type { EnvironmentRuntime } from './runtime.js';

/** Provisioning progress is saved and announced at most this often (the end of it at once). */
const PROGRESS_INTERVAL_MS = 1_000;

export interface ReadinessDeps {
  settings: () => Settings;
  images: ImageStore;
  log: (entry: Entry) => Logger;
  journal: (entry: Entry, event: string, message: string) => Promise<void>;
  dispatch: (entry: Entry, event: LifecycleEvent) => Promise<unknown>;
  persist: (entry: Entry) => Promise<void>;
}

const now = () => new Date().toISOString();

/** The provisioning state a launch of a cloud-init image starts from. */
export function waitingProvisioning(): ProvisioningState {
  return { status: 'waiting', stage: null, error: null, updatedAt: now() };
}

/**
 * When a starting environment becomes `running`. Images without provisioning: their ready
 * marker on the serial console (bootTimeoutSeconds). Images with cloud-init: only when the
 * guest's agent reports through the guest session (its first subscriber) that cloud-init is done; an error there is
 * `failed` with cloud-init's own words, and no end within provisionTimeoutSeconds is `failed`
 * with the last stage seen. The console is never trusted for that: any program in the guest can
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
   * Keeps `provisioning` current from the agent while the VM lives, without deciding anything:
   * a running environment whose VMM hearthd reattached to after a restart.
   */
  watch(entry: Entry): void {
    this.listen(entry, false);
  }

  private awaitProvisioning(entry: Entry): void {
    const seconds = this.d.settings().provisionTimeoutSeconds;
    const heard = this.listen(entry, true);
    this.deadline(entry, seconds, () => ({
      type: 'boot-timeout',
      reason: `cloud-init did not finish within ${seconds} s (provisionTimeoutSeconds); the last stage seen: ${lastStage(entry.record.status.provisioning, heard())}`,
    }));
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

  /** Subscribes to this runtime's guest session; returns whether the agent has said anything yet. */
  private listen(entry: Entry, decides: boolean): () => boolean {
    const rt = entry.runtime;
    const session = rt.session;
    let heard = false;
    if (!session?.available) return () => heard;
    const progress = new ProgressSaver(
      rt,
      () => this.d.persist(entry),
      (fn) => void entry.serial(fn),
    );
    const keys = new HostKeyCheck();
    let latest: AgentMessage | undefined;
    // Only the newest message matters: however fast the guest talks, one is queued at a time.
    const handle = async () => {
      const message = latest;
      latest = undefined;
      if (!message || entry.runtime !== rt) return;
      heard = true;
      const said = keys.check(entry, message);
      if (said) await this.d.journal(entry, said.event, said.message);
      await this.report(entry, message, progress, decides);
    };
    const onMessage = (message: AgentMessage) => {
      const queued = latest !== undefined;
      latest = message;
      if (!queued) void entry.serial(handle);
    };
    rt.own(session.subscribe(onMessage));
    // Each report is a whole snapshot: one that came before this subscription still counts.
    if (session.latest) onMessage(session.latest);
    return () => heard;
  }

  private async report(entry: Entry, message: AgentMessage, progress: ProgressSaver, decides: boolean) {
    const status = entry.record.status;
    const before = status.provisioning;
    const next: ProvisioningState = {
      status: message.cloudInit,
      stage: message.stage,
      error: message.errors.length ? message.errors.join('; ').slice(0, 2000) : null,
      updatedAt: now(),
    };
    const changed = before?.status !== next.status || before.stage !== next.stage || before.error !== next.error;
    if (!changed) return;
    status.provisioning = next;
    await this.d.journal(
      entry,
      'provisioning',
      `cloud-init ${next.status}${next.stage ? ` (stage ${next.stage})` : ''}${next.error ? `: ${next.error}` : ''}`,
    );
    const final = next.status === 'done' || next.status === 'error';
    if (!final || !decides || status.state !== 'starting') {
      await progress.save(final);
      return;
    }
    if (next.status === 'done') {
      await this.d.journal(entry, 'ready', 'the guest agent reports that cloud-init finished');
      await this.d.dispatch(entry, { type: 'ready' });
    } else {
      await this.d.dispatch(entry, {
        type: 'provisioning-failed',
        reason: `cloud-init finished with errors: ${next.error ?? 'unknown'}`,
      });
    }
    // A `ready` saved and announced the new state, provisioning included; a failure keeps the
    // state (`starting` until the VMM is gone), so its provisioning is saved here.
    if (entry.record.status.state === 'starting') await progress.save(true);
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

  /** Once, when cloud-init has finished (before that the guest still has the image's keys, or none). */
  check(entry: Entry, message: AgentMessage): { event: string; message: string } | undefined {
    if (this.told || (message.cloudInit !== 'done' && message.cloudInit !== 'error')) return undefined;
    const ours = new Set((entry.record.components.hostKeys ?? []).map((k) => k.publicKey));
    if (ours.size === 0) return undefined;
    this.told = true;
    const foreign = message.hostKeys.filter((k) => !ours.has(k));
    const missing = [...ours].filter((k) => !message.hostKeys.includes(k));
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
