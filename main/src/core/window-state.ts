import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

export const WindowBounds = Type.Object({
  x: Type.Integer(),
  y: Type.Integer(),
  width: Type.Integer({ minimum: 400, maximum: 16384 }),
  height: Type.Integer({ minimum: 300, maximum: 16384 }),
  maximized: Type.Optional(Type.Boolean()),
});
export type WindowBounds = Static<typeof WindowBounds>;

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Saved bounds, made safe for today's screens: kept when at least a usable part of the window
 * (its title area) is on some display, otherwise centred on the primary display and shrunk to fit.
 */
export function fitBounds(
  saved: WindowBounds | undefined,
  displays: readonly Rect[],
  fallback: { width: number; height: number },
): WindowBounds {
  const primary = displays[0] ?? { x: 0, y: 0, width: fallback.width, height: fallback.height };
  const centred = (w: number, h: number): WindowBounds => {
    const width = Math.min(w, primary.width);
    const height = Math.min(h, primary.height);
    return {
      x: primary.x + Math.round((primary.width - width) / 2),
      y: primary.y + Math.round((primary.height - height) / 2),
      width,
      height,
    };
  };
  if (!saved) return centred(fallback.width, fallback.height);
  const titleBar = { x: saved.x, y: saved.y, width: saved.width, height: 40 };
  const visible = displays.some((d) => {
    const w = Math.min(titleBar.x + titleBar.width, d.x + d.width) - Math.max(titleBar.x, d.x);
    const h = Math.min(titleBar.y + titleBar.height, d.y + d.height) - Math.max(titleBar.y, d.y);
    return w >= 100 && h >= 20;
  });
  if (!visible) return { ...centred(saved.width, saved.height), ...(saved.maximized && { maximized: true }) };
  return saved;
}

/** window-state.json in the app's user-data directory; a bad or missing file means "no saved bounds". */
export class WindowStateStore {
  constructor(readonly path: string) {}

  async load(): Promise<WindowBounds | undefined> {
    try {
      const value: unknown = JSON.parse(await readFile(this.path, 'utf8'));
      return Value.Check(WindowBounds, value) ? value : undefined;
    } catch {
      return undefined;
    }
  }

  async save(bounds: WindowBounds): Promise<void> {
    if (!Value.Check(WindowBounds, bounds)) return;
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp`;
    await writeFile(tmp, JSON.stringify(bounds), { mode: 0o600 });
    await rename(tmp, this.path);
  }
}
