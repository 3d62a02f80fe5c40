import { useState } from 'react';
import { API_REVISION, type AppInfo } from '#protocol';
import { hrefOf } from '../../app/router.js';
import { call } from '../../hearth.js';
import { usePushed } from '../../store.js';
import { Button } from '../../ui/Button.js';
import { ConfirmDialog } from '../../ui/Dialog.js';
import { StatusBadge } from '../../ui/StatusBadge.js';
import { helperStateView, installLabelOf } from '../helper-state/helperStates.js';
import { InstallPanel, isHelperRun } from '../setup/InstallPanel.js';

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Versions, the connection, and repair / update / uninstall of hearthd. */
export function HelperSection({ info }: { info: AppInfo | undefined }) {
  const { connection, install, setInstall } = usePushed();
  const [error, setError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [purge, setPurge] = useState(false);
  if (!connection) return null;
  const view = helperStateView(connection);
  const busy = install?.state === 'running';
  const run = (action: 'install' | 'uninstall') => {
    setError(null);
    call('runInstaller', { action, ...(action === 'uninstall' && purge && { purge }) }).then(setInstall, (e: unknown) =>
      setError(message(e)),
    );
  };
  const installLabel = installLabelOf(connection);

  return (
    <section className="card" aria-labelledby="helper-status-title" data-testid="helper-status">
      <div className="card-head">
        <h2 id="helper-status-title">Helper</h2>
        <StatusBadge tone={view.tone} label={view.label} testId="helper-status-state" />
      </div>
      <dl className="facts facts-grid">
        <div>
          <dt>App</dt>
          <dd>{info ? `Hearth ${info.version}` : '—'}</dd>
        </div>
        <div>
          <dt>hearthd</dt>
          <dd data-testid="helper-version">
            {connection.version ? connection.version.hearthd : '—'} (bundled {connection.bundledVersion})
          </dd>
        </div>
        <div>
          <dt>API</dt>
          <dd>
            {connection.version
              ? `${connection.version.api} revision ${connection.version.apiRevision}`
              : 'not connected'}{' '}
            (the app needs r{API_REVISION} or newer)
          </dd>
        </div>
        <div>
          <dt>Connection</dt>
          <dd>
            {view.label}, since {new Date(connection.since).toLocaleTimeString()}
          </dd>
        </div>
        <div>
          <dt>Socket</dt>
          <dd>
            <code>{connection.socket}</code>
          </dd>
        </div>
      </dl>
      {error !== null && (
        <div className="banner banner-fail" role="alert">
          {error}
        </div>
      )}
      <div className="actions">
        <Button
          variant={connection.state === 'connected' ? 'default' : 'primary'}
          disabled={busy}
          onClick={() => run('install')}
        >
          {busy && install.action === 'install' ? 'Working…' : installLabel}
        </Button>
        <a className="btn btn-ghost" href={hrefOf({ page: 'setup' })}>
          Run setup again
        </a>
        {connection.state !== 'not-installed' && (
          <Button variant="ghost" className="btn-danger" disabled={busy} onClick={() => setConfirming(true)}>
            Uninstall helper…
          </Button>
        )}
      </div>
      {isHelperRun(install) && <InstallPanel run={install} />}
      <ConfirmDialog
        open={confirming}
        title="Uninstall the helper?"
        confirmLabel={purge ? 'Uninstall and delete data' : 'Uninstall'}
        onClose={() => setConfirming(false)}
        onConfirm={() => {
          setConfirming(false);
          run('uninstall');
        }}
      >
        <p>hearthd is stopped and removed; running environments stop. Hearth can install it again.</p>
        <label className="settings-purge">
          <input type="checkbox" checked={purge} onChange={(e) => setPurge(e.target.checked)} /> Also delete all
          environments, images and settings (cannot be undone)
        </label>
      </ConfirmDialog>
    </section>
  );
}
