import { execFile } from 'node:child_process';

/**
 * Is there a system tray to put an icon in? On Linux, Electron's tray is a StatusNotifierItem,
 * shown only when a StatusNotifierWatcher owns its name on the session bus (KDE, most others;
 * stock GNOME has none). Without one, closing the window must quit, not hide.
 */
export function detectTrayHost(timeoutMs = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(
      'dbus-send',
      [
        '--session',
        '--print-reply',
        '--dest=org.freedesktop.DBus',
        '/org/freedesktop/DBus',
        'org.freedesktop.DBus.NameHasOwner',
        'string:org.kde.StatusNotifierWatcher',
      ],
      { timeout: timeoutMs },
      (error, stdout) => resolve(!error && /boolean true/.test(stdout)),
    );
  });
}
