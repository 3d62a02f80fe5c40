/** Human figures for the dashboard and the details page, in binary units as memory is sized. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  // Three significant digits at most: "1.5 GiB", "12.3 MiB", "512 MiB".
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${Number(value.toFixed(digits))} ${UNITS[unit]}`;
}

/** CPU of a VMM; 100 % is one host core, so a busy 2-CPU guest may show up to 200 %. */
export function formatPercent(percent: number): string {
  if (!Number.isFinite(percent) || percent < 0) return '—';
  if (percent > 0 && percent < 0.1) return '<0.1 %';
  return `${Number(percent.toFixed(percent >= 10 ? 0 : 1))} %`;
}

export function formatUptime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** A share for a bar, clamped to 0–1 (a ratio over 1 is shown full, with the figures saying by how much). */
export function fraction(part: number, whole: number): number {
  if (!(whole > 0)) return 0;
  return Math.min(1, Math.max(0, part / whole));
}
