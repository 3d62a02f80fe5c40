import { useEffect, useState, type ReactNode } from 'react';
import { hrefOf, navigate } from '../../app/router.js';
import { usePushed } from '../../store.js';
import { ConfirmDialog } from '../../ui/Dialog.js';
import { StatusBadge } from '../../ui/StatusBadge.js';
import { EnvironmentActions } from '../environments/EnvironmentActions.js';
import { uptimeText, useNow } from '../environments/EnvironmentRow.js';
import { Indeterminate } from '../environments/Meter.js';
import { useEnvironmentAction, useEnvironments, type EnvironmentAction } from '../environments/queries.js';
import { STATE } from '../environments/states.js';
import { useLatestStats, useStats, useStatsHistory } from '../environments/stats.js';
import { RepositoryCard } from '../repositories/EnvironmentRepository.js';
import { AccessSlots } from './AccessSlots.js';
import { EnvironmentLogs } from './EnvironmentLogs.js';
import { useStatsSeed } from './queries.js';
import { Resources } from './Resources.js';
import { StatusTimeline } from './StatusTimeline.js';
import './environment.css';

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * One environment: its state and actions, what happened to it, what it uses, its logs and how to
 * reach it. `id` is its id or its name, as hearthd accepts both. The environment itself
 * comes from the list query, which `environment` events keep current.
 */
export function EnvironmentPage({ id }: { id: string }) {
  const connected = usePushed((s) => s.connection?.state === 'connected');
  const list = useEnvironments(connected);
  const env = list.data?.find((e) => e.id === id || e.name === id);
  const action = useEnvironmentAction();
  const [deleting, setDeleting] = useState(false);
  const now = useNow(env?.state === 'running');
  const stats = useLatestStats(env?.id);
  const history = useStatsHistory(env?.id);
  const seed = useStatsSeed(env?.id, env?.state);

  useEffect(() => {
    if (seed.data) useStats.getState().record([seed.data]);
  }, [seed.data]);
  useEffect(() => {
    if (env) document.title = `${env.name} — Hearth`;
    return () => {
      document.title = 'Hearth';
    };
  }, [env]);

  if (!connected)
    return (
      <Shell>
        <div className="banner banner-warn" role="status">
          The helper is not connected, so this environment cannot be shown.{' '}
          <a href={hrefOf({ page: 'setup' })}>Open setup</a>
        </div>
      </Shell>
    );
  if (list.error)
    return (
      <Shell>
        <div className="banner banner-fail" role="alert">
          {message(list.error)}
        </div>
      </Shell>
    );
  if (!list.isSuccess)
    return (
      <Shell>
        <p className="muted">Loading…</p>
      </Shell>
    );
  if (!env)
    return (
      <Shell>
        <section className="card" data-testid="env-not-found">
          <h2>No environment “{id}”</h2>
          <p className="muted">It may have been deleted, or it belongs to someone else.</p>
          <p>
            <a href={hrefOf({ page: 'dashboard' })}>Back to environments</a>
          </p>
        </section>
      </Shell>
    );

  const state = STATE[env.state];
  const onAction = (what: EnvironmentAction) =>
    what === 'delete' ? setDeleting(true) : action.mutate({ action: what, id: env.id });

  return (
    <Shell>
      <section className="card env-header" data-env={env.name} data-state={env.state} data-testid="env-header">
        <div className="env-header-main">
          <h1 className="env-header-name">{env.name}</h1>
          <StatusBadge tone={state.tone} label={state.label} testId="env-state" />
          <span className="muted small" data-testid="env-uptime">
            {uptimeText(env, now)}
          </span>
        </div>
        <EnvironmentActions env={env} busy={action.isPending} onAction={onAction} />
        <p className="muted small env-header-meta">
          <code>{env.id}</code> · image <code>{env.image}</code> · class <code>{env.class}</code>
        </p>
        {state.doing && (
          <div className="env-progress">
            <Indeterminate label={`${env.name}: ${state.doing}`} />
            <span className="muted small">{state.doing}…</span>
          </div>
        )}
        {env.state === 'failed' && (
          <div className="banner banner-fail" role="alert" data-testid="env-reason">
            <strong>It failed:</strong> {(env.reason ?? 'hearthd gave no reason').replace(/\.$/, '')}. The timeline and
            the console below say more.
          </div>
        )}
        {action.error && (
          <div className="banner banner-fail" role="alert" data-testid="action-error">
            {message(action.error)}
          </div>
        )}
      </section>
      <AccessSlots env={env} />
      <RepositoryCard env={env} />
      <Resources env={env} stats={stats} history={history} />
      <StatusTimeline id={env.id} />
      <EnvironmentLogs id={env.id} name={env.name} />
      <ConfirmDialog
        open={deleting}
        title={`Delete ${env.name}?`}
        confirmLabel="Delete"
        onClose={() => setDeleting(false)}
        onConfirm={() => {
          setDeleting(false);
          action.mutate({ action: 'delete', id: env.id }, { onSuccess: () => navigate({ page: 'dashboard' }) });
        }}
      >
        <p>Its VM is stopped and its disk is removed. This cannot be undone.</p>
      </ConfirmDialog>
    </Shell>
  );
}

function Shell({ children }: { children: ReactNode }) {
  return (
    <main className="page env-page">
      <nav aria-label="Breadcrumb" className="small">
        <a href={hrefOf({ page: 'dashboard' })}>← Environments</a>
      </nav>
      {children}
    </main>
  );
}
