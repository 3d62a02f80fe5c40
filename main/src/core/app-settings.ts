import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import writeFileAtomic from 'write-file-atomic';
import { CloseAction } from '#protocol';

/** The app's own preferences (not hearthd's): kept per user, next to window-state.json. */
export const AppSettings = Type.Object({ closeAction: CloseAction }, { additionalProperties: false });
export type AppSettings = Static<typeof AppSettings>;

export const DEFAULT_APP_SETTINGS: AppSettings = { closeAction: 'tray' };

/**
 * `<userData>/app-settings.json`. A missing or invalid file means the defaults (a hand-edited typo
 * must not stop the app from starting); saves are atomic (temp file, fsync, rename), so a crash
 * mid-write leaves the previous file whole.
 */
export class AppSettingsStore {
  private cached: AppSettings | undefined;

  constructor(readonly path: string) {}

  /** What is known now without waiting (the defaults until the first `get`), for synchronous handlers. */
  peek(): AppSettings {
    return this.cached ?? DEFAULT_APP_SETTINGS;
  }

  async get(): Promise<AppSettings> {
    if (this.cached) return this.cached;
    try {
      const value: unknown = JSON.parse(await readFile(this.path, 'utf8'));
      this.cached = Value.Check(AppSettings, value) ? value : { ...DEFAULT_APP_SETTINGS };
    } catch {
      this.cached = { ...DEFAULT_APP_SETTINGS };
    }
    return this.cached;
  }

  async update(patch: Partial<AppSettings>): Promise<AppSettings> {
    const next = { ...(await this.get()), ...patch };
    if (!Value.Check(AppSettings, next)) throw new Error('invalid app settings');
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.path, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
    this.cached = next;
    return next;
  }
}

/** Whether closing the window hides it (Hearth keeps running in the tray) or lets the app quit. */
export function closeHides(settings: AppSettings, trayAvailable: boolean, quitting: boolean): boolean {
  return trayAvailable && !quitting && settings.closeAction === 'tray';
}
