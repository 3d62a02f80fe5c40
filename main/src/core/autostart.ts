import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** Where the XDG autostart entry lives: $XDG_CONFIG_HOME/autostart/hearth.desktop. */
export function autostartPath(env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  const config =
    env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME.startsWith('/')
      ? env.XDG_CONFIG_HOME
      : join(home, '.config');
  return join(config, 'autostart', 'hearth.desktop');
}

/** Desktop Entry exec quoting: double quotes, with `"`, `` ` ``, `$` and `\` escaped; `%` doubled. */
const quoteExec = (arg: string) => `"${arg.replace(/(["`$\\])/g, '\\$1').replaceAll('%', '%%')}"`;

/**
 * The icon name the deb and rpm install (hicolor `apps/<name>.png`): electron-builder names it
 * after linux.executableName, `hearth-app` (`hearth` is the command line's name).
 */
export const APP_ICON_NAME = 'hearth-app';

/**
 * The autostart entry. `executable` is what launches this copy of the app: the AppImage file
 * ($APPIMAGE) when run from one, else the installed binary (/opt/Hearth/hearth-app), never the
 * `hearth` command. `--hidden` starts it in the tray.
 */
export function autostartEntry(executable: string): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=Hearth',
    'Comment=Development environments on your own machine',
    `Exec=${quoteExec(executable)} --hidden`,
    `Icon=${APP_ICON_NAME}`,
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

export class Autostart {
  constructor(
    readonly path: string,
    private readonly executable: string,
  ) {}

  async isEnabled(): Promise<boolean> {
    try {
      const text = await readFile(this.path, 'utf8');
      return !/^Hidden=true$/m.test(text) && !/^X-GNOME-Autostart-enabled=false$/m.test(text);
    } catch {
      return false;
    }
  }

  /**
   * An enabled entry that would launch something else (an AppImage since moved, or a build
   * before the app's executable became hearth-app, whose /opt/Hearth/hearth is gone or is
   * not the app) is rewritten to launch this copy. Called at start-up; a disabled entry is
   * left alone. Returns whether it rewrote the entry.
   */
  async refresh(): Promise<boolean> {
    if (!(await this.isEnabled())) return false;
    const wanted = autostartEntry(this.executable);
    if ((await readFile(this.path, 'utf8')) === wanted) return false;
    await writeFile(this.path, wanted, { mode: 0o644 });
    return true;
  }

  async set(enabled: boolean): Promise<boolean> {
    if (enabled) {
      await mkdir(dirname(this.path), { recursive: true });
      await writeFile(this.path, autostartEntry(this.executable), { mode: 0o644 });
    } else {
      await rm(this.path, { force: true });
    }
    return this.isEnabled();
  }
}
