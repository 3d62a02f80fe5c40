// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { formatBytes, formatPercent, formatUptime, fraction } from '../../src/features/environments/format.js';
import { sparkPoints } from '../../src/features/environment/Sparkline.js';

describe('figures as people read them', () => {
  it('formats bytes in binary units with at most three significant digits', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(128 * 1024 ** 2)).toBe('128 MiB');
    expect(formatBytes(12.34 * 1024 ** 2)).toBe('12.3 MiB');
    expect(formatBytes(2.5 * 1024 ** 3)).toBe('2.5 GiB');
    expect(formatBytes(3 * 1024 ** 5)).toBe('3072 TiB');
    expect(formatBytes(-1)).toBe('—');
    expect(formatBytes(Number.NaN)).toBe('—');
  });

  it('formats CPU percent (100 = one core) without false precision', () => {
    expect(formatPercent(0)).toBe('0 %');
    expect(formatPercent(0.04)).toBe('<0.1 %');
    expect(formatPercent(3.14159)).toBe('3.1 %');
    expect(formatPercent(42.6)).toBe('43 %');
    expect(formatPercent(187.2)).toBe('187 %');
    expect(formatPercent(-3)).toBe('—');
  });

  it('formats uptimes at the precision that matters', () => {
    expect(formatUptime(59_000)).toBe('59s');
    expect(formatUptime(61_000)).toBe('1m 1s');
    expect(formatUptime(3_600_000 + 120_000)).toBe('1h 2m');
    expect(formatUptime(90_000_000)).toBe('1d 1h');
    expect(formatUptime(-5)).toBe('0s');
  });

  it('clamps bar shares to 0–1 and survives an unknown whole', () => {
    expect(fraction(1, 4)).toBe(0.25);
    expect(fraction(5, 4)).toBe(1);
    expect(fraction(1, 0)).toBe(0);
  });

  it('draws a sparkline inside its box, scaled to the larger of max and the data', () => {
    const points = sparkPoints([0, 50, 100], 100)
      .split(' ')
      .map((p) => p.split(',').map(Number));
    expect(points).toEqual([
      [0, 27],
      [60, 14],
      [120, 1],
    ]);
    // A value above max raises the scale rather than drawing outside the box.
    const ys = sparkPoints([0, 400], 100)
      .split(' ')
      .map((p) => Number(p.split(',')[1]));
    expect(Math.min(...ys)).toBeGreaterThanOrEqual(0);
    expect(sparkPoints([])).toBe('');
  });
});
