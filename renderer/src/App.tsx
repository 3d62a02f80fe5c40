import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { AppSettings } from './AppSettings.js';
import { ConnectionPanel } from './ConnectionPanel.js';
import { call, HearthCallError, useHearthEvent } from './hearth.js';
import { InstallPanel } from './InstallPanel.js';
import { keys, useAppInfo, useHostReport, useRecheckHost, useSetAutostart } from './queries.js';
import { ReadinessReport } from './ReadinessReport.js';
import { usePushed } from './store.js';

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The setup page: connection to hearthd, this machine's readiness, and the helper installer. */
export function App() {
  const queryClient = useQueryClient();
  const { connection, install, setConnection, setInstall } = usePushed();
  const [fatal, setFatal] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);

  // What main pushes: the current value once, then every change.
  useEffect(() => {
    Promise.all([call('getConnection', {}), call('getInstallRun', {})]).then(
      ([status, run]) => {
        setConnection(status);
        setInstall(run);
      },
      (error: unknown) => setFatal(error instanceof HearthCallError ? error.message : String(error)),
    );
  }, [setConnection, setInstall]);
  useHearthEvent('connection', setConnection);
  useHearthEvent('install', setInstall);
  useHearthEvent('hearthd', (event) => {
    if (event.type === 'hello' || event.type === 'readiness')
      void queryClient.invalidateQueries({ queryKey: keys.host });
  });

  const connected = connection?.state === 'connected';
  const host = useHostReport(connected);
  const recheck = useRecheckHost();
  const info = useAppInfo();
  const autostart = useSetAutostart();

  if (fatal !== null) {
    return (
      <main className="page">
        <div className="banner banner-fail" role="alert">
          <strong>Hearth cannot reach its own app process.</strong> {fatal}
        </div>
      </main>
    );
  }

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <img className="logo" src="./hearth.png" alt="" width={24} height={24} />
          <span className="brand-name">Hearth</span>
          <span className="brand-sub">Setup</span>
        </div>
        <div className="topbar-meta">
          {info.data && (
            <span className="muted small">
              app {info.data.version}
              {info.data.shell === 'browser' ? ' · browser mode' : ''}
            </span>
          )}
        </div>
      </header>
      <main className="page">
        <ConnectionPanel
          status={connection}
          install={install}
          error={actionError}
          onInstall={(action, purge) => {
            setActionError(null);
            call('runInstaller', { action, ...(purge && { purge }) }).then(setInstall, (error: unknown) =>
              setActionError(message(error)),
            );
          }}
          onRetry={() => void call('reconnect', {}).then(setConnection)}
        />
        {install && <InstallPanel run={install} />}
        <ReadinessReport
          report={host.data ?? null}
          error={host.error ? message(host.error) : recheck.error ? message(recheck.error) : null}
          live={connected}
          checking={recheck.isPending}
          onRecheck={() => recheck.mutate()}
        />
        {info.data && (
          <AppSettings
            info={info.data}
            error={autostart.error ? message(autostart.error) : null}
            onAutostart={(enabled) => autostart.mutate(enabled)}
          />
        )}
      </main>
    </div>
  );
}
