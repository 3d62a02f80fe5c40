import { useState } from 'react';
import type { ConnectionState, ConnectionStatus, InstallAction, InstallRun } from '#protocol';
import { StatusBadge, type Tone } from '../../ui/StatusBadge.js';
import { installLabelOf } from '../helper-state/helperStates.js';

const STATE: Record<ConnectionState, { label: string; tone: Tone }> = {
  connecting: { label: 'Connecting', tone: 'info' },
  'not-installed': { label: 'Not installed', tone: 'warn' },
  stopped: { label: 'Not running', tone: 'fail' },
  'permission-denied': { label: 'No access', tone: 'fail' },
  connected: { label: 'Connected', tone: 'pass' },
  'version-mismatch': { label: 'Needs update', tone: 'warn' },
  unreachable: { label: 'Not answering', tone: 'fail' },
};

export function ConnectionPanel(props: {
  status: ConnectionStatus | null;
  install: InstallRun | null;
  error: string | null;
  onInstall: (action: InstallAction, purge: boolean) => void;
  onRetry: () => void;
}) {
  const { status, install } = props;
  const [purge, setPurge] = useState(false);
  const busy = install?.state === 'running';
  if (!status) {
    return (
      <section className="card" aria-busy="true">
        <p className="muted">Asking the app for the helper's state…</p>
      </section>
    );
  }
  const { label, tone } = STATE[status.state];
  const needsInstall = ['not-installed', 'permission-denied', 'version-mismatch'].includes(status.state);
  const installLabel = installLabelOf(status);

  return (
    <section className="card" aria-labelledby="helper-title" data-testid="connection" data-state={status.state}>
      <div className="card-head">
        <div>
          <h2 id="helper-title">Hearth helper</h2>
          <p className="muted small">
            hearthd runs environments with root privileges; this app talks to it over <code>{status.socket}</code>.
          </p>
        </div>
        <StatusBadge tone={tone} label={label} testId="connection-state" />
      </div>
      <p className="lead" data-testid="connection-message">
        {status.message}
      </p>
      {props.error !== null && (
        <div className="banner banner-fail" role="alert">
          {props.error}
        </div>
      )}
      <dl className="facts">
        <div>
          <dt>Running version</dt>
          <dd>
            {status.version
              ? `hearthd ${status.version.hearthd} (API ${status.version.api} r${status.version.apiRevision})`
              : '—'}
          </dd>
        </div>
        <div>
          <dt>Bundled version</dt>
          <dd>
            hearthd {status.bundledVersion}
            {status.upgradeAvailable ? ' (newer: update available)' : ''}
          </dd>
        </div>
      </dl>
      <div className="actions">
        <button
          type="button"
          className={needsInstall || status.upgradeAvailable ? 'btn btn-primary' : 'btn'}
          disabled={busy}
          onClick={() => props.onInstall('install', false)}
        >
          {busy && install.action === 'install' ? 'Installing…' : installLabel}
        </button>
        {status.state !== 'connected' && (
          <button type="button" className="btn btn-ghost" onClick={props.onRetry}>
            Retry now
          </button>
        )}
        {status.state !== 'not-installed' && (
          <span className="uninstall">
            <button
              type="button"
              className="btn btn-ghost btn-danger"
              disabled={busy}
              onClick={() => props.onInstall('uninstall', purge)}
            >
              Uninstall helper
            </button>
            <label className="small">
              <input type="checkbox" checked={purge} onChange={(e) => setPurge(e.target.checked)} /> also delete
              environments and images
            </label>
          </span>
        )}
      </div>
    </section>
  );
}
