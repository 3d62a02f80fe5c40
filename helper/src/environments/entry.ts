import type { EnvironmentLayout } from './layout.js';
import type { EnvironmentRecord } from './record.js';
import { EnvironmentRuntime } from './runtime.js';

/** One environment as hearthd holds it: its record, its files, and what runs while it runs. */
export class Entry {
  runtime = new EnvironmentRuntime();
  /** Commands and observations on one environment run one at a time, in order. */
  private queue: Promise<unknown> = Promise.resolve();
  /** A liveness check is under way (the watcher does not start a second). */
  checking = false;

  constructor(
    public record: EnvironmentRecord,
    readonly layout: EnvironmentLayout,
  ) {}

  get id(): string {
    return this.record.spec.id;
  }

  get name(): string {
    return this.record.spec.name;
  }

  /** Runs `fn` after everything queued on this environment before it. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
