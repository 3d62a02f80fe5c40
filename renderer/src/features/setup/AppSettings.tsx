import type { AppInfo } from '#protocol';

/** App-level settings: start at login (XDG autostart) and how closing the window behaves. */
export function AppSettings(props: { info: AppInfo; onAutostart: (enabled: boolean) => void; error: string | null }) {
  const { info } = props;
  if (info.shell !== 'electron') return null;
  return (
    <section className="card" aria-labelledby="app-title" data-testid="app-settings">
      <h2 id="app-title">This app</h2>
      <div className="actions">
        <label>
          <input type="checkbox" checked={info.autostart} onChange={(e) => props.onAutostart(e.target.checked)} /> Start
          Hearth when I log in (in the tray, when there is one)
        </label>
      </div>
      <p className="muted small">
        {info.trayAvailable
          ? 'Closing the window keeps Hearth running in the tray; quit from the tray menu.'
          : 'This desktop shows no tray icons, so closing the window quits Hearth. Open it again from your app launcher.'}
      </p>
      {props.error !== null && (
        <div className="banner banner-fail" role="alert">
          {props.error}
        </div>
      )}
    </section>
  );
}
