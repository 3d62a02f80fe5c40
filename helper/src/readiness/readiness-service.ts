import type { HostReport } from '#protocol';
import type { Logger } from 'pino';
import type { EventBus } from '../events/event-bus.js';
import type { HostFacts } from './facts.js';
import type { HostRoot } from '../system/host-root.js';
import { kvmBootsGuests } from './kvm.js';
import { probeHost, type ReportSettings } from './report.js';

/**
 * Keeps the readiness report fresh: probes at start, on request, on every settings change and
 * every interval, and announces verdict changes on the event bus. Concurrent refreshes share one
 * probe. The facts of the last probe also answer `kvmBootsGuests`, which the accelerator `auto`
 * resolves with: the launch and the report judge the same measurement.
 */
export class ReadinessService {
  private current: { facts: HostFacts; report: HostReport } | undefined;
  private inFlight: Promise<{ facts: HostFacts; report: HostReport }> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: HostRoot,
    private readonly stateDir: string,
    private readonly bus: EventBus,
    private readonly log: Logger,
    /** The settings the checks judge against: the accelerator and the networkSubnet in effect. */
    private readonly settings?: () => ReportSettings,
  ) {}

  async report(fresh = false): Promise<HostReport> {
    if (this.current && !fresh) return this.current.report;
    return (await this.probe()).report;
  }

  /** Whether KVM boots standard guests here, per the last probe (the report's own measurement). */
  async kvmBootsGuests(): Promise<boolean> {
    return kvmBootsGuests((this.current ?? (await this.probe())).facts);
  }

  async refresh(): Promise<HostReport> {
    return (await this.probe()).report;
  }

  private probe(): Promise<{ facts: HostFacts; report: HostReport }> {
    this.inFlight ??= probeHost(this.host, this.stateDir, this.settings?.())
      .then((probed) => {
        const previous = this.current?.report.verdict ?? null;
        this.current = probed;
        const { verdict, reason } = probed.report;
        if (previous !== verdict) {
          this.log.info({ verdict, previous, reason }, 'host readiness changed');
          this.bus.publish({ type: 'readiness', verdict, reason, previous });
        }
        return probed;
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
