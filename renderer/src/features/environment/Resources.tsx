import type { Environment, EnvironmentStats } from '#protocol';
import { formatBytes, formatPercent } from '../environments/format.js';
import { Meter } from '../environments/Meter.js';
import { isActive } from '../environments/states.js';
import type { StatsSample } from '../environments/stats.js';
import { Sparkline } from './Sparkline.js';

const MiB = 1024 ** 2;

/** What its class gives it, what its VMM takes now (with the last two minutes), and which VMM that is. */
export function Resources(props: {
  env: Environment;
  stats: EnvironmentStats | undefined;
  history: readonly StatsSample[];
}) {
  const { env, stats, history } = props;
  const live = isActive(env.state) && stats?.vmm ? stats.vmm : null;
  const configured = env.resources.memoryMiB * MiB;
  const cpuValues = history.map((s) => s.cpuPercent);
  const rssValues = history.map((s) => s.rssBytes);
  const guestUsed = stats?.memory.guestUsedBytes ?? null;

  return (
    <section
      className="card"
      aria-labelledby="resources-title"
      data-testid="resources"
      // Raw figures for tests and tools that must not parse formatted text.
      data-sampled-at={stats?.sampledAt}
    >
      <h2 id="resources-title">Resources</h2>
      <div className="resources">
        <div className="resource" data-testid="cpu">
          <div className="resource-head">
            <span className="resource-title">CPU</span>
            <span className="resource-value" data-testid="cpu-value" data-percent={live?.cpuPercent}>
              {live ? formatPercent(live.cpuPercent) : '—'}
            </span>
          </div>
          <p className="muted small">
            {env.resources.cpus} vCPU{env.resources.cpus > 1 ? 's' : ''}; 100 % is one host core
          </p>
          {live && (
            <Sparkline
              values={cpuValues}
              max={100}
              label={`CPU over the last ${history.length} samples, highest ${formatPercent(Math.max(...cpuValues, 0))}`}
              testId="cpu-sparkline"
            />
          )}
        </div>
        <div className="resource" data-testid="memory">
          <div className="resource-head">
            <span className="resource-title">Memory</span>
            <span className="resource-value" data-testid="memory-value" data-bytes={live?.rssBytes}>
              {live ? formatBytes(live.rssBytes) : '—'}
            </span>
          </div>
          <p className="muted small">
            resident in its VMM, of {formatBytes(configured)} guest memory ·{' '}
            {guestUsed !== null ? `guest uses ${formatBytes(guestUsed)}` : 'the guest does not report its own use'}
          </p>
          {live && (
            <Sparkline
              values={rssValues}
              // Headroom above the larger of guest memory and the peak, so a steady line is not on the edge.
              max={Math.max(configured, ...rssValues) * 1.25}
              label={`Resident memory over the last ${history.length} samples, highest ${formatBytes(Math.max(...rssValues, 0))}`}
              testId="memory-sparkline"
            />
          )}
        </div>
        <div className="resource" data-testid="disk">
          <div className="resource-head">
            <span className="resource-title">Disk</span>
            <span className="resource-value" data-testid="disk-value">
              {stats ? `${formatBytes(stats.disk.allocatedBytes)} / ${formatBytes(stats.disk.sizeBytes)}` : '—'}
            </span>
          </div>
          <p className="muted small">host space its overlay takes, of the {env.resources.diskGiB} GiB the guest sees</p>
          {stats && (
            <Meter
              label="Disk allocated"
              value={stats.disk.allocatedBytes}
              max={stats.disk.sizeBytes}
              text={`${formatBytes(stats.disk.allocatedBytes)} of ${formatBytes(stats.disk.sizeBytes)} allocated`}
            />
          )}
        </div>
      </div>
      <dl className="facts" data-testid="vmm">
        <div>
          <dt>Class</dt>
          <dd>
            <code>{env.class}</code>: {env.resources.cpus} CPU, {formatBytes(configured)}, {env.resources.diskGiB} GiB
            disk
          </dd>
        </div>
        <div>
          <dt>VMM</dt>
          <dd>
            {env.vmm ? (
              <>
                {env.vmm.kind} {env.vmm.version}
                {env.vmm.pid !== null ? (
                  <>
                    {' '}
                    · pid <span data-testid="vmm-pid">{env.vmm.pid}</span>
                  </>
                ) : (
                  ' · not running'
                )}
              </>
            ) : (
              'none yet: it has not been started'
            )}
          </dd>
        </div>
      </dl>
    </section>
  );
}
