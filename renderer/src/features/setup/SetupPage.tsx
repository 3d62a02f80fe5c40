import { useState } from 'react';
import { AppSettings } from './AppSettings.js';
import { ConnectionPanel } from './ConnectionPanel.js';
import { call } from '../../hearth.js';
import { InstallPanel } from './InstallPanel.js';
import { useAppInfo, useHostReport, useRecheckHost, useSetAutostart } from '../../queries.js';
import { ReadinessReport } from './ReadinessReport.js';
import { usePushed } from '../../store.js';

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * The setup page: connection to hearthd, this machine's readiness, and the helper installer. What
 * main pushes (connection, installer) is synced app-wide by `useMainSync`; this page only reads it.
 */
export function SetupPage() {
  const { connection, install, setConnection, setInstall } = usePushed();
  const [actionError, setActionError] = useState<string | null>(null);

  const connected = connection?.state === 'connected';
  const host = useHostReport(connected);
  const recheck = useRecheckHost();
  const info = useAppInfo();
  const autostart = useSetAutostart();

  return (
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
  );
}
