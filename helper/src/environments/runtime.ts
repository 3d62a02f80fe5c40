import { GuestSession, type GuestSessionOptions } from '../guest/session.js';
import type { VmHandle } from '../vmm/driver.js';
import type { ExitStatus } from '../system/process.js';

/**
 * Everything that lives only while an environment's VMM runs — its control connection, its
 * guest session, its timers, the followers of its console — owned in one place and ended by
 * one `dispose()`.
 */
export class EnvironmentRuntime {
  private handle_: VmHandle | undefined;
  private session_: GuestSession | undefined;
  /** The components' before-stop hooks ran for this VMM (they run once, whatever stops it). */
  stopHooksRan = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly stops = new Set<() => void>();
  /** Exit status, when this hearthd run launched the VMM (as its parent it is told). */
  exit: ExitStatus | undefined;
  exitKnown: Promise<ExitStatus> | undefined;
  /** Why hearthd itself is ending the VMM (boot timeout), reported instead of its exit status. */
  failure: string | undefined;

  get handle(): VmHandle | undefined {
    return this.handle_;
  }

  adopt(handle: VmHandle, onClose: () => void): void {
    this.handle_?.detach();
    this.handle_ = handle;
    handle.onClose(onClose);
  }

  /** The guest session of the VMM this runtime holds: opened on launch and on reattach. */
  get session(): GuestSession | undefined {
    return this.session_;
  }

  openSession(options: GuestSessionOptions): GuestSession {
    this.session_?.close();
    this.session_ = new GuestSession(options).open();
    return this.session_;
  }

  /** A timer that dies with the runtime. */
  after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  /** Something to stop when the runtime ends (a follower); returns a way to stop it earlier. */
  own(stop: () => void): () => void {
    this.stops.add(stop);
    return () => {
      if (this.stops.delete(stop)) stop();
    };
  }

  /** Ends timers and followers and lets go of the VMM's connection; the VM itself is untouched. */
  dispose(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const stop of this.stops) stop();
    this.stops.clear();
    this.session_?.close();
    this.session_ = undefined;
    this.handle_?.detach();
    this.handle_ = undefined;
  }
}
