import { useEffect, useState } from 'react';
import type { Environment, EnvironmentStats } from '#protocol';
import { hrefOf } from '../../app/router.js';
import { StatusBadge } from '../../ui/StatusBadge.js';
import { RepositoryLine } from '../repositories/EnvironmentRepository.js';
import { EnvironmentActions } from './EnvironmentActions.js';
import { ROW_LINK } from './focusAfterChange.js';
import { formatBytes, formatPercent, formatUptime } from './format.js';
import { Indeterminate } from './Meter.js';
import type { EnvironmentAction } from './queries.js';
import { isActive, isTransitional, STATE } from './states.js';
import { useLatestStats } from './stats.js';

/** Re-renders once a second while `active`, for uptimes; idle rows cost nothing. */
export function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

/** "up 3m 12s" from when hearthd launched the VM, the moment the user's "start" took effect. */
export function uptimeText(env: Environment, now: number): string {
  const since = env.startedAt ?? env.readyAt;
  return env.state === 'running' && since ? `up ${formatUptime(now - Date.parse(since))}` : 'not running';
}

export function EnvironmentRow(props: {
  env: Environment;
  busy: boolean;
  onAction: (action: EnvironmentAction) => void;
}) {
  const { env } = props;
  const now = useNow(env.state === 'running');
  const state = STATE[env.state];
  const transitional = isTransitional(env.state);
  const stats = useLatestStats(env.id);

  return (
    <li className="env" data-env={env.name} data-state={env.state} aria-busy={transitional || undefined}>
      <div className="env-main">
        <div className="env-title">
          <a className="env-name" href={hrefOf({ page: 'environment', id: env.id })} {...{ [ROW_LINK]: env.id }}>
            {env.name}
          </a>
          <StatusBadge tone={state.tone} label={state.label} testId="env-state" />
        </div>
        <div className="env-meta muted small">
          <span>
            image <code>{env.image}</code>
          </span>
          <span>
            class <code>{env.class}</code> ({env.resources.cpus} CPU, {formatBytes(env.resources.memoryMiB * 1024 ** 2)}
            )
          </span>
          <span data-testid="env-uptime">{uptimeText(env, now)}</span>
          <RepositoryLine env={env} />
        </div>
        {state.doing && (
          <div className="env-progress">
            <Indeterminate label={`${env.name}: ${state.doing}`} />
            <span className="muted small">{state.doing}…</span>
          </div>
        )}
        {env.state === 'failed' && env.reason && (
          <p className="env-reason" data-testid="env-reason">
            {env.reason}
          </p>
        )}
      </div>
      <LiveFigures env={env} stats={stats} />
      <EnvironmentActions env={env} busy={props.busy} onAction={props.onAction} withOpen />
    </li>
  );
}

/** CPU, resident memory and disk: live while a VMM runs; the disk stays measured while stopped. */
function LiveFigures({ env, stats }: { env: Environment; stats: EnvironmentStats | undefined }) {
  const live = isActive(env.state) && stats?.vmm ? stats.vmm : null;
  const disk = stats?.disk;
  return (
    <dl className="env-figures">
      <div data-testid="cpu">
        <dt>CPU</dt>
        <dd>{live ? formatPercent(live.cpuPercent) : '—'}</dd>
      </div>
      <div data-testid="memory">
        <dt>Memory</dt>
        <dd title="Resident memory of its VMM process">{live ? formatBytes(live.rssBytes) : '—'}</dd>
      </div>
      <div data-testid="disk">
        <dt>Disk</dt>
        <dd title="Host space its disk takes, of the size the guest sees">
          {disk
            ? `${formatBytes(disk.allocatedBytes)} / ${formatBytes(disk.sizeBytes)}`
            : `— / ${env.resources.diskGiB} GiB`}
        </dd>
      </div>
    </dl>
  );
}
