import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { AppInfo, CloseAction } from '#protocol';
import { call } from '../../hearth.js';
import { keys, useSetAutostart } from '../../queries.js';

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The app's own preferences: start at login, and what closing the window does. */
export function AppSection({ info }: { info: AppInfo }) {
  const client = useQueryClient();
  const autostart = useSetAutostart();
  const close = useMutation({
    mutationFn: (closeAction: CloseAction) => call('setCloseAction', { closeAction }),
    onSuccess: (next: AppInfo) => client.setQueryData(keys.appInfo, next),
  });
  const desktop = info.shell === 'electron';
  const error = autostart.error ?? close.error;

  return (
    <section className="card" aria-labelledby="app-title" data-testid="app-settings">
      <h2 id="app-title">This app</h2>
      {!desktop && (
        <p className="banner banner-info" role="note">
          Browser mode (development): these are settings of the desktop app and cannot be changed here.
        </p>
      )}
      <fieldset className="settings-fieldset" disabled={!desktop}>
        <legend className="visually-hidden">App behaviour</legend>
        <div className="settings-choice">
          <input
            type="checkbox"
            id="app-autostart"
            checked={info.autostart}
            onChange={(e) => autostart.mutate(e.target.checked)}
          />
          <label htmlFor="app-autostart">Start Hearth when I log in</label>
          <p className="muted small">It starts in the tray, without a window, when the desktop shows tray icons.</p>
        </div>
      </fieldset>
      <fieldset className="settings-fieldset" disabled={!desktop}>
        <legend>When I close the window</legend>
        {(
          [
            ['tray', 'Keep running in the tray', 'Notifications and the tray menu keep working; quit from the tray.'],
            ['quit', 'Quit Hearth', 'Environments keep running in hearthd either way; only the app goes.'],
          ] as const
        ).map(([value, label, note]) => (
          <div className="settings-choice" key={value}>
            <input
              type="radio"
              id={`close-${value}`}
              name="close-action"
              checked={info.closeAction === value}
              onChange={() => close.mutate(value)}
              aria-describedby={`close-${value}-note`}
            />
            <label htmlFor={`close-${value}`}>{label}</label>
            <p className="muted small" id={`close-${value}-note`}>
              {note}
            </p>
          </div>
        ))}
        {!info.trayAvailable && desktop && (
          <p className="muted small">
            This desktop shows no tray icons, so closing the window quits whichever you pick.
          </p>
        )}
      </fieldset>
      {error && (
        <div className="banner banner-fail" role="alert">
          {message(error)}
        </div>
      )}
    </section>
  );
}
