import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import type { CliStatus, InstallRun } from '#protocol';
import { call } from '../../hearth.js';
import { usePushed } from '../../store.js';
import { Button } from '../../ui/Button.js';
import { StatusBadge, type Tone } from '../../ui/StatusBadge.js';
import { InstallPanel } from '../setup/InstallPanel.js';

export const cliStatusKey = ['cli-status'] as const;

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Runs that can change what `hearth` on PATH is: the link itself, and the helper (which installs the file). */
const CHANGES_CLI = new Set<InstallRun['action']>(['link-cli', 'unlink-cli', 'install', 'uninstall']);

function badgeOf(status: CliStatus): { tone: Tone; label: string } {
  if (status.command !== null)
    return status.target === status.installedPath
      ? { tone: 'pass', label: 'Available' }
      : { tone: 'warn', label: 'Another hearth' };
  return status.installed ? { tone: 'warn', label: 'Not on PATH' } : { tone: 'idle', label: 'Not installed' };
}

/**
 * Settings → Command line: whether a terminal finds `hearth`, and where. The deb and rpm provide
 * /usr/bin/hearth; an AppImage user is offered a /usr/local/bin link, made by the install script
 * under the same one password prompt as "Install helper".
 */
export function CliSection() {
  const client = useQueryClient();
  const { install, setInstall } = usePushed();
  const [error, setError] = useState<string | null>(null);
  const status = useQuery({ queryKey: cliStatusKey, queryFn: () => call('getCliStatus', {}) });
  const finished = install !== null && install.state !== 'running' && CHANGES_CLI.has(install.action);
  const finishedAt = finished ? install.finishedAt : undefined;
  useEffect(() => {
    if (finishedAt !== undefined) void client.invalidateQueries({ queryKey: cliStatusKey });
  }, [client, finishedAt]);

  const linking = install?.state === 'running' && install.action === 'link-cli';
  const busy = install?.state === 'running';
  const link = () => {
    setError(null);
    call('runInstaller', { action: 'link-cli' }).then(setInstall, (e: unknown) => setError(message(e)));
  };
  const cli = status.data;
  const badge = cli ? badgeOf(cli) : null;

  return (
    <section className="card" aria-labelledby="cli-title" data-testid="cli">
      <div className="card-head">
        <h2 id="cli-title">Command line</h2>
        {badge && <StatusBadge tone={badge.tone} label={badge.label} testId="cli-state" />}
      </div>
      <p className="muted small">
        Everything the app does, from a terminal or a script: the <code>hearth</code> command talks to the same helper.
      </p>
      {status.error && (
        <div className="banner banner-fail" role="alert">
          {message(status.error)}
        </div>
      )}
      {cli && (
        <dl className="facts" data-testid="cli-facts">
          <div>
            <dt>On your PATH</dt>
            <dd data-testid="cli-command">
              {cli.command === null ? (
                'no hearth command'
              ) : (
                <>
                  <code>{cli.command}</code>
                  {cli.target !== null && cli.target !== cli.command && (
                    <>
                      {' → '}
                      <code>{cli.target}</code>
                    </>
                  )}
                  {cli.target !== cli.installedPath && <> (not Hearth’s: {cli.installedPath} is)</>}
                </>
              )}
            </dd>
          </div>
          <div>
            <dt>Installed</dt>
            <dd data-testid="cli-installed">
              {cli.installed ? (
                <code>{cli.installedPath}</code>
              ) : (
                'not yet: installing the helper installs the command with it'
              )}
            </dd>
          </div>
          <div>
            <dt>Usage</dt>
            <dd>
              <code data-testid="cli-usage">{cli.usage}</code>
            </dd>
          </div>
        </dl>
      )}
      {cli?.canLink === true && (
        <>
          <p className="small" id="cli-link-note">
            Makes <code>{cli.linkPath}</code> a link to <code>{cli.installedPath}</code>; it asks for your password, as
            installing the helper does.
          </p>
          <div className="actions">
            <Button variant="primary" disabled={busy} onClick={link} aria-describedby="cli-link-note">
              {linking ? 'Working…' : 'Install the hearth command'}
            </Button>
          </div>
        </>
      )}
      {cli && cli.command === null && cli.installed && !cli.canLink && (
        <p className="small" data-testid="cli-manual">
          Run it as <code>{cli.installedPath}</code>, or link it onto your PATH:{' '}
          <code>
            sudo ln -s {cli.installedPath} {cli.linkPath}
          </code>
        </p>
      )}
      {error !== null && (
        <div className="banner banner-fail" role="alert">
          {error}
        </div>
      )}
      {install !== null && (install.action === 'link-cli' || install.action === 'unlink-cli') && (
        <InstallPanel run={install} />
      )}
    </section>
  );
}
