import type { ConfigView, Environment, HostReport } from '#protocol';
import { memoryBudget } from './admission.js';
import { formatBytes } from './format.js';
import { Meter } from './Meter.js';
import { isActive } from './states.js';
import { useStats } from './stats.js';

/**
 * Running environments against `maxEnvironments`, and memory against what hearthd admits
 * (memoryBudget: what admission measures); the VMMs' resident memory is shown beside it as what
 * they really take now.
 */
export function CapacityBar(props: {
  environments: readonly Environment[];
  config: ConfigView | undefined;
  host: HostReport | undefined;
}) {
  const rssByEnv = useStats((s) => s.latest);
  const active = props.environments.filter((e) => isActive(e.state));
  const max = props.config?.settings.maxEnvironments;
  const { committed, overhead, total, reserved, admissible } = memoryBudget(
    props.environments,
    props.config,
    props.host,
  );
  const resident = active.reduce((sum, e) => sum + (rssByEnv[e.id]?.vmm?.rssBytes ?? 0), 0);

  return (
    <section className="capacity" aria-label="Capacity" data-testid="capacity">
      <div className="capacity-item">
        <div className="capacity-head">
          <span className="capacity-title">Running</span>
          <span className="small" data-testid="capacity-running">
            {active.length}
            {max !== undefined ? ` of ${max}` : ''}
          </span>
        </div>
        {max !== undefined && (
          <Meter
            label="Running environments"
            value={active.length}
            max={max}
            text={`${active.length} of at most ${max} running`}
          />
        )}
        <p className="muted small">At most {max ?? '…'} at once (setting maxEnvironments).</p>
      </div>
      <div className="capacity-item">
        <div className="capacity-head">
          <span className="capacity-title">Memory</span>
          <span className="small" data-testid="capacity-memory">
            {formatBytes(committed)}
            {admissible !== undefined ? ` of ${formatBytes(admissible)}` : ''}
          </span>
        </div>
        {admissible !== undefined && (
          <Meter
            label="Memory given to running environments"
            value={committed}
            max={admissible}
            text={`${formatBytes(committed)} of ${formatBytes(admissible)} given to running environments`}
          />
        )}
        <p className="muted small">
          Class memory plus {formatBytes(overhead)} overhead each, of the host&apos;s{' '}
          {total !== undefined ? formatBytes(total) : '…'} less {reserved !== undefined ? formatBytes(reserved) : '…'}{' '}
          reserved. Resident now: {formatBytes(resident)}.
        </p>
      </div>
    </section>
  );
}
