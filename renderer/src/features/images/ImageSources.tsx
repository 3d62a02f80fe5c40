import type { CatalogEntry, DownloadProgress } from '#protocol';
import { call } from '../../hearth.js';
import { usePushed } from '../../store.js';
import { Button } from '../../ui/Button.js';
import { formatBytes } from '../environments/format.js';
import { InstallPanel } from '../setup/InstallPanel.js';
import { useCatalog, useDownloadImage } from './queries.js';

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

const ACTIVE = new Set<DownloadProgress['phase']>(['resolving', 'downloading', 'verifying', 'installing']);

/**
 * Where images come from: the catalog (hearthd downloads, checks the signed checksums, installs
 * atomically; progress arrives as `image` events) or a local build from Debian's archive, which
 * needs what hearthd's sandbox forbids and so runs through the installer's one password prompt.
 */
export function ImageSources(props: { connected: boolean; canChange: boolean }) {
  const catalog = useCatalog(props.connected);
  const download = useDownloadImage();
  const install = usePushed((s) => s.install);
  const setInstall = usePushed((s) => s.setInstall);
  const building = install?.action === 'build-image' ? install : null;
  const error = catalog.error ?? download.error;
  return (
    <div className="image-sources">
      <h3>Download</h3>
      {error && (
        <div className="banner banner-fail" role="alert" data-testid="catalog-error">
          {message(error)}
        </div>
      )}
      {catalog.data?.entries.length === 0 && (
        <p className="muted small" data-testid="catalog-empty">
          This hearthd offers no images to download.
        </p>
      )}
      {catalog.data && catalog.data.entries.length > 0 && (
        <ul className="catalog" data-testid="catalog">
          {catalog.data.entries.map((entry) => (
            <CatalogRow
              key={entry.name}
              entry={entry}
              canChange={props.canChange}
              starting={download.isPending && download.variables === entry.name}
              onDownload={() => download.mutate(entry.name)}
            />
          ))}
        </ul>
      )}
      <h3>Build locally</h3>
      <p className="muted small">
        For a machine that cannot reach the image sites: Debian 12 with systemd, OpenSSH, git, cloud-init and the cloud
        kernel, built from the Debian archive. It needs your password once (it runs outside hearthd&apos;s sandbox) and
        is cached, so building again is quick.
      </p>
      {/* Not hearthd's admin check: the build runs as root through the password prompt, which is the gate. */}
      <Button
        disabled={!props.connected || install?.state === 'running'}
        onClick={() => void call('runInstaller', { action: 'build-image' }).then(setInstall)}
        data-testid="build-image"
      >
        {building?.state === 'running' ? 'Building…' : 'Build the Debian image locally'}
      </Button>
      {building && <InstallPanel run={building} />}
    </div>
  );
}

function CatalogRow(props: { entry: CatalogEntry; canChange: boolean; starting: boolean; onDownload: () => void }) {
  const { entry } = props;
  const progress = entry.download;
  const active = progress !== null && ACTIVE.has(progress.phase);
  return (
    <li className="catalog-entry" data-catalog={entry.name} data-phase={progress?.phase ?? 'none'}>
      <div className="catalog-head">
        <div>
          <strong>{entry.os.pretty}</strong> <code className="small">{entry.name}</code>
          <p className="muted small">
            {entry.bootMode === 'firmware' ? 'Firmware boot' : 'Kernel boot'}, set up by {entry.provisioning}; checked
            against the signed checksums at {entry.source}
          </p>
        </div>
        {entry.installed && !active ? (
          <span className="muted small" data-testid="catalog-installed">
            Installed
          </span>
        ) : (
          <Button
            small
            disabled={!props.canChange || active || props.starting}
            onClick={props.onDownload}
            aria-label={`Download ${entry.os.pretty}`}
          >
            {active ? 'Downloading…' : progress?.phase === 'failed' ? 'Try again' : 'Download'}
          </Button>
        )}
      </div>
      {progress !== null && progress.phase !== 'installed' && (
        <DownloadState name={entry.os.pretty} progress={progress} />
      )}
    </li>
  );
}

function DownloadState({ name, progress }: { name: string; progress: DownloadProgress }) {
  const { phase, receivedBytes, totalBytes } = progress;
  const figures =
    totalBytes !== null ? `${formatBytes(receivedBytes)} of ${formatBytes(totalBytes)}` : formatBytes(receivedBytes);
  if (phase === 'failed' || phase === 'cancelled') {
    return (
      <p className="field-error" role="alert" data-testid="download-error">
        {phase === 'failed' ? 'The download failed' : 'The download was cancelled'}: {progress.message}
      </p>
    );
  }
  return (
    <div className="download" data-testid="download">
      <progress
        max={totalBytes ?? undefined}
        value={phase === 'downloading' && totalBytes !== null ? receivedBytes : undefined}
        aria-label={`${name}: ${phase}`}
        aria-valuetext={`${phase}, ${figures}`}
      />
      <span className="muted small">
        {phase}
        {phase === 'downloading' && `: ${figures}`} — {progress.message}
      </span>
    </div>
  );
}
