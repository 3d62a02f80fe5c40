import { useCallback, useEffect, useState } from 'react';
import type { AppInfo, ConnectionStatus, HostReport, InstallRun } from '#protocol';
import { call, HearthCallError, useHearthEvent } from './hearth.js';
import { AppSettings } from './AppSettings.js';
import { ConnectionPanel } from './ConnectionPanel.js';
import { InstallPanel } from './InstallPanel.js';
import { ReadinessReport } from './ReadinessReport.js';

/** The setup page: connection to hearthd, this machine's readiness, and the helper installer. */
export function App() {
  const [connection, setConnection] = useState<ConnectionStatus | null>(null);
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [host, setHost] = useState<HostReport | null>(null);
  const [hostError, setHostError] = useState<string | null>(null);
  const [install, setInstall] = useState<InstallRun | null>(null);
  const [fatal, setFatal] = useState<string | null>(null);
  const [settingsError, setSettingsError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);

  const loadHost = useCallback((fresh = false) => {
    call('getHost', fresh ? { fresh } : {}).then(
      (report) => {
        setHost(report);
        setHostError(null);
      },
      (error: unknown) => setHostError(error instanceof Error ? error.message : String(error)),
    );
  }, []);

  useEffect(() => {
    Promise.all([call('getConnection', {}), call('getAppInfo', {}), call('getInstallRun', {})]).then(
      ([status, app, run]) => {
        setConnection(status);
        setInfo(app);
        setInstall(run);
      },
      (error: unknown) => setFatal(error instanceof HearthCallError ? error.message : String(error)),
    );
  }, []);

  useHearthEvent('connection', setConnection);
  useHearthEvent('install', setInstall);
  useHearthEvent('hearthd', (event) => {
    if (event.type === 'hello' || event.type === 'readiness') loadHost();
  });

  const connected = connection?.state === 'connected';
  useEffect(() => {
    if (connected) loadHost();
  }, [connected, loadHost]);

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
          {info && (
            <span className="muted small">
              app {info.version}
              {info.shell === 'browser' ? ' · browser mode' : ''}
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
              setActionError(error instanceof Error ? error.message : String(error)),
            );
          }}
          onRetry={() => void call('reconnect', {}).then(setConnection)}
        />
        {install && <InstallPanel run={install} />}
        <ReadinessReport report={host} error={hostError} live={connected} onRecheck={() => loadHost(true)} />
        {info && (
          <AppSettings
            info={info}
            error={settingsError}
            onAutostart={(enabled) => {
              call('setAutostart', { enabled }).then(
                (next) => {
                  setInfo(next);
                  setSettingsError(null);
                },
                (error: unknown) => setSettingsError(error instanceof Error ? error.message : String(error)),
              );
            }}
          />
        )}
      </main>
    </div>
  );
}
