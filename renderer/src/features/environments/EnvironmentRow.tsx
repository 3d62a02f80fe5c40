import { useEffect, useState } from 'react';
import type { Environment, EnvironmentState } from '#protocol';
import { Button } from '../../ui/Button.js';
import { StatusBadge, type Tone } from '../../ui/StatusBadge.js';
import type { EnvironmentAction } from './queries.js';

const STATE: Record<EnvironmentState, { tone: Tone; label: string }> = {
  creating: { tone: 'info', label: 'Creating…' },
  starting: { tone: 'info', label: 'Starting…' },
  running: { tone: 'pass', label: 'Running' },
  stopping: { tone: 'info', label: 'Stopping…' },
  stopped: { tone: 'idle', label: 'Stopped' },
  failed: { tone: 'fail', label: 'Failed' },
  deleting: { tone: 'info', label: 'Deleting…' },
};
const TRANSITIONAL = new Set<EnvironmentState>(['creating', 'starting', 'stopping', 'deleting']);

/** Re-renders once a second while `active`, for uptimes; idle rows cost nothing. */
function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

export function formatUptime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

export function EnvironmentRow(props: {
  env: Environment;
  busy: boolean;
  onAction: (action: EnvironmentAction) => void;
}) {
  const { env } = props;
  const running = env.state === 'running';
  const now = useNow(running);
  const state = STATE[env.state];
  const transitional = TRANSITIONAL.has(env.state);
  // Uptime counts from when hearthd launched the VM, the moment the user's "start" took effect.
  const since = env.startedAt ?? env.readyAt;
  const canStart = env.state === 'stopped' || env.state === 'failed';
  const canStop = env.state === 'running' || env.state === 'starting';
  const disabled = props.busy || transitional;

  return (
    <li className="env" data-env={env.name} data-state={env.state} aria-busy={transitional || undefined}>
      <div className="env-main">
        <div className="env-title">
          <strong className="env-name">{env.name}</strong>
          <StatusBadge tone={state.tone} label={state.label} testId="env-state" />
          {transitional && <span className="spinner" aria-hidden="true" />}
        </div>
        <div className="env-meta muted small">
          <span>
            image <code>{env.image}</code>
          </span>
          <span>
            class <code>{env.class}</code> ({env.resources.cpus} CPU, {env.resources.memoryMiB} MiB)
          </span>
          <span data-testid="env-uptime">
            {running && since ? `up ${formatUptime(now - Date.parse(since))}` : 'not running'}
          </span>
        </div>
        {env.state === 'failed' && env.reason && (
          <p className="env-reason" data-testid="env-reason">
            {env.reason}
          </p>
        )}
      </div>
      <div className="env-actions">
        {canStart && (
          <Button small onClick={() => props.onAction('start')} disabled={disabled}>
            Start
          </Button>
        )}
        {canStop && (
          <Button small onClick={() => props.onAction('stop')} disabled={disabled}>
            Stop
          </Button>
        )}
        <Button small onClick={() => props.onAction('restart')} disabled={disabled || !running}>
          Restart
        </Button>
        <Button
          small
          variant="danger"
          onClick={() => props.onAction('delete')}
          disabled={props.busy || env.state === 'deleting'}
          aria-label={`Delete ${env.name}`}
        >
          Delete
        </Button>
      </div>
    </li>
  );
}
