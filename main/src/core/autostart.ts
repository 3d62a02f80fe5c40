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
 * The autostart entry. `executable` is what launches this copy of the app: the AppImage file
 * ($APPIMAGE) when run from one, else the installed binary. `--hidden` starts it in the tray.
 */
export function autostartEntry(executable: string): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=Hearth',
    'Comment=Development environments on your own machine',
    `Exec=${quoteExec(executable)} --hidden`,
    'Icon=hearth',
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
