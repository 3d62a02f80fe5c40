import { useRef, useState } from 'react';
import type { Environment } from '#protocol';
import { useHearthdConfig, useHostReport } from '../../queries.js';
import { usePushed } from '../../store.js';
import { Button } from '../../ui/Button.js';
import { ConfirmDialog, Dialog } from '../../ui/Dialog.js';
import { HelperState } from '../helper-state/HelperState.js';
import { CapacityBar } from './Capacity.js';
import { CreateEnvironmentForm } from './CreateEnvironmentForm.js';
import { EnvironmentRow } from './EnvironmentRow.js';
import { CREATE_BUTTON, useFocusAfterChange } from './focusAfterChange.js';
import { useEnvironmentAction, useEnvironments, type EnvironmentAction } from './queries.js';
import './dashboard.css';

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The caller's environments (hearthd lists only those), their state, and what can be done to them. */
export function Dashboard() {
  const connection = usePushed((s) => s.connection);
  const connected = connection?.state === 'connected';
  const list = useEnvironments(connected);
  const config = useHearthdConfig(connected);
  const host = useHostReport(connected);
  const action = useEnvironmentAction();
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<Environment | null>(null);

  const onAction = (env: Environment, what: EnvironmentAction) => {
    if (what === 'delete') setDeleting(env);
    else action.mutate({ action: what, id: env.id });
  };
  const environments = list.data ?? [];
  const card = useRef<HTMLElement>(null);
  const focusAfter = useFocusAfterChange(card, environments);
  const createButton = { [CREATE_BUTTON]: '' };

  return (
    <main className="page">
      <HelperState />
      <section className="card" aria-labelledby="envs-title" ref={card}>
        <div className="card-head">
          {/* The page's title (one <h1> per page), sized as the other cards' titles. */}
          <h1 id="envs-title" className="card-title">
            Environments
          </h1>
          {environments.length > 0 && (
            <Button variant="primary" onClick={() => setCreating(true)} disabled={!connected} {...createButton}>
              Create environment
            </Button>
          )}
        </div>
        {list.error && (
          <div className="banner banner-fail" role="alert">
            {message(list.error)}
          </div>
        )}
        {action.error && (
          <div className="banner banner-fail" role="alert" data-testid="action-error">
            {message(action.error)}
          </div>
        )}
        {connected && list.isSuccess && (
          <CapacityBar environments={environments} config={config.data} host={host.data} />
        )}
        {connected && list.isSuccess && environments.length === 0 && (
          <div className="empty" data-testid="empty-state">
            <p className="lead">No environments yet.</p>
            <p className="muted">An environment is a VM with its own disk; it keeps its disk while stopped.</p>
            <Button variant="primary" onClick={() => setCreating(true)} {...createButton}>
              Create environment
            </Button>
          </div>
        )}
        {environments.length > 0 && (
          <ul className="envs" data-testid="environments">
            {environments.map((env) => (
              <EnvironmentRow
                key={env.id}
                env={env}
                busy={action.isPending && action.variables.id === env.id}
                onAction={(what) => onAction(env, what)}
              />
            ))}
          </ul>
        )}
      </section>

      <Dialog open={creating} title="Create environment" onClose={() => setCreating(false)} testId="create-dialog">
        <CreateEnvironmentForm
          onDone={(env) => {
            setCreating(false);
            focusAfter.created(env);
          }}
          onCancel={() => setCreating(false)}
        />
      </Dialog>
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete ${deleting?.name ?? ''}?`}
        confirmLabel="Delete"
        onClose={() => setDeleting(null)}
        onConfirm={() => {
          if (deleting) {
            focusAfter.deleting(deleting, environments);
            action.mutate({ action: 'delete', id: deleting.id }, { onError: focusAfter.cancel });
          }
          setDeleting(null);
        }}
      >
        <p>Its VM is stopped and its disk is removed. This cannot be undone.</p>
      </ConfirmDialog>
    </main>
  );
}
