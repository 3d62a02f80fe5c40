import { useState } from 'react';
import { hrefOf } from '../../app/router.js';
import { call } from '../../hearth.js';
import { usePushed } from '../../store.js';
import { Button } from '../../ui/Button.js';
import { CopyButton } from '../../ui/CopyButton.js';
import { StatusBadge } from '../../ui/StatusBadge.js';
import { InstallPanel } from '../setup/InstallPanel.js';
import { helperStateView, type HelperFix } from './helperStates.js';
import './helper-state.css';

/**
 * What is wrong with the helper and the fix, shown wherever hearthd's data would be (dashboard,
 * settings). Renders nothing while connected.
 */
export function HelperState() {
  const { connection, install, setConnection, setInstall } = usePushed();
  const [error, setError] = useState<string | null>(null);
  if (!connection || connection.state === 'connected') return null;
  const view = helperStateView(connection);
  const busy = install?.state === 'running';

  const run = (fix: HelperFix) => {
    setError(null);
    if (fix.kind === 'install')
      call('runInstaller', { action: 'install' }).then(setInstall, (e: unknown) =>
        setError(e instanceof Error ? e.message : String(e)),
      );
    if (fix.kind === 'retry') void call('reconnect', {}).then(setConnection);
  };

  return (
    <section
      className="card helper-state"
      aria-labelledby="helper-state-title"
      data-testid="helper-state"
      data-state={connection.state}
      aria-busy={connection.state === 'connecting'}
    >
      <div className="card-head">
        <h2 id="helper-state-title">{view.title}</h2>
        <StatusBadge tone={view.tone} label={view.label} />
      </div>
      <p className="lead">{view.explanation}</p>
      <p className="muted small" data-testid="helper-state-message">
        {connection.message}
      </p>
      {view.fixes.length > 0 && (
        <ul className="helper-fixes">
          {view.fixes.map((fix) => (
            <li key={fix.label}>
              {fix.kind === 'command' ? (
                <div className="helper-fix-command">
                  <span className="small">{fix.label}</span>
                  <div className="command">
                    <code>{fix.command}</code>
                    <CopyButton text={fix.command} />
                  </div>
                </div>
              ) : fix.kind === 'setup' ? (
                <a className="btn" href={hrefOf({ page: 'setup' })}>
                  {fix.label}
                </a>
              ) : (
                <Button
                  variant={fix.kind === 'install' ? 'primary' : 'default'}
                  disabled={busy}
                  onClick={() => run(fix)}
                >
                  {busy && fix.kind === 'install' ? 'Working…' : fix.label}
                </Button>
              )}
            </li>
          ))}
        </ul>
      )}
      {error !== null && (
        <div className="banner banner-fail" role="alert">
          {error}
        </div>
      )}
      {install && install.action === 'install' && install.state !== 'succeeded' && <InstallPanel run={install} />}
    </section>
  );
}

/** The top bar's status dot: the helper's state at a glance, a link to its details in Settings. */
export function HelperStatusDot() {
  const connection = usePushed((s) => s.connection);
  if (!connection) return null;
  const view = helperStateView(connection);
  return (
    <a
      className={`helper-dot helper-dot-${view.tone}`}
      href={hrefOf({ page: 'settings' })}
      data-testid="helper-dot"
      data-state={connection.state}
      title={connection.message}
    >
      <span className="helper-dot-mark" aria-hidden="true" />
      <span className="small">Helper: {view.label}</span>
    </a>
  );
}
