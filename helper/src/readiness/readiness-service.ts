import type { HostReport } from '#protocol';
import type { Logger } from 'pino';
import type { EventBus } from '../events/event-bus.js';
import type { HostRoot } from '../system/host-root.js';
import { buildHostReport } from './report.js';

/**
 * Keeps the readiness report fresh: probes at start, on request, and every interval, and
 * announces verdict changes on the event bus. Concurrent refreshes share one probe.
 */
export class ReadinessService {
  private current: HostReport | undefined;
  private inFlight: Promise<HostReport> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: HostRoot,
    private readonly stateDir: string,
    private readonly bus: EventBus,
    private readonly log: Logger,
    /** The configured networkSubnet (the network-subnet check judges it against the routes). */
    private readonly subnet?: () => string,
  ) {}

  async report(fresh = false): Promise<HostReport> {
    if (this.current && !fresh) return this.current;
    return this.refresh();
  }

  refresh(): Promise<HostReport> {
    this.inFlight ??= buildHostReport(this.host, this.stateDir, new Date(), this.subnet?.())
      .then((report) => {
        const previous = this.current?.verdict ?? null;
        this.current = report;
        if (previous !== report.verdict) {
          this.log.info({ verdict: report.verdict, previous, reason: report.reason }, 'host readiness changed');
          this.bus.publish({ type: 'readiness', verdict: report.verdict, reason: report.reason, previous });
        }
        return report;
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  /** Re-probes every `seconds`; calling again replaces the schedule. */
  schedule(seconds: number): void {
    this.stop();
    this.timer = setInterval(() => {
      this.refresh().catch((error: unknown) => this.log.error({ err: error }, 'readiness probe failed'));
    }, seconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
