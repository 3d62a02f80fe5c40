import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', 'renderer', 'src');
const logs = readFileSync(join(SRC, 'features', 'logs', 'logs.css'), 'utf8');
const styles = readFileSync(join(SRC, 'styles.css'), 'utf8');

/**
 * Beside the specs' axe checks, which judge only the colours a page happens to show:
 * every ANSI colour of the log viewer is readable on the log's background in both themes (WCAG
 * AA, 4.5:1, as axe judges it): a real guest's console is full of systemd's colours, and a
 * palette tuned by eye let green fall just short on the light theme.
 */
const [lightPart, darkPart] = logs.split('@media (prefers-color-scheme: dark)') as [string, string];
const palette = (css: string) =>
  [...css.matchAll(/--ansi-(\d+): (#[0-9a-f]{6});/g)].map((m) => [m[1]!, m[2]!] as const);
const codeBackgrounds = [...styles.matchAll(/--code-bg: (#[0-9a-f]{6});/g)].map((m) => m[1]!);

function luminance(hex: string): number {
  const channel = (i: number) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}
const contrast = (a: string, b: string) => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
};

describe("the log viewer's ANSI palette", () => {
  it.each([
    ['light', lightPart, codeBackgrounds[0]!],
    ['dark', darkPart.slice(0, darkPart.indexOf('}\n}')), codeBackgrounds[1]!],
  ])('reaches 4.5:1 for all 16 colours on the %s theme', (_theme, css, background) => {
    const colours = palette(css);
    expect(colours).toHaveLength(16);
    for (const [index, colour] of colours)
      expect(contrast(colour, background), `--ansi-${index} ${colour} on ${background}`).toBeGreaterThanOrEqual(4.5);
  });
});
