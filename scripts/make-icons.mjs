#!/usr/bin/env node
// Renders the app and tray icons from the SVG sources in assets/icons/src with rsvg-convert
// (Debian: librsvg2-bin). The PNGs are committed; run `npm run icons` after editing an SVG.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const src = join(root, 'assets/icons/src');
const render = (svgFile, size, out) =>
  execFileSync('rsvg-convert', ['-w', String(size), '-h', String(size), '-o', out, svgFile]);

// App icon: the sizes desktop environments and electron-builder look for (hicolor theme).
const appDir = join(root, 'assets/icons/app');
mkdirSync(appDir, { recursive: true });
for (const size of [16, 24, 32, 48, 64, 128, 256, 512])
  render(join(src, 'hearth.svg'), size, join(appDir, `${size}x${size}.png`));

// Tray states. Shapes differ (badge glyphs), not only colours, so states read without colour.
const template = readFileSync(join(src, 'tray.svg.tmpl'), 'utf8');
const states = {
  // Not ready / connecting: a hollow grey flame.
  'not-ready': { flame: 'none', outline: '#9aa0a6', badge: '' },
  // Ready, nothing running: the flame.
  idle: { flame: '#f97316', outline: '#c2410c', badge: '' },
  // Environments running: the flame with a green "play" dot.
  running: {
    flame: '#f97316',
    outline: '#c2410c',
    badge:
      '<circle cx="16.5" cy="16.5" r="5" fill="#16a34a" stroke="#ffffff" stroke-width="1"/><path d="M15 14 L19 16.5 L15 19 Z" fill="#ffffff"/>',
  },
  // Needs attention: the flame with a red "!" badge.
  attention: {
    flame: '#f97316',
    outline: '#c2410c',
    badge:
      '<circle cx="16.5" cy="16.5" r="5" fill="#dc2626" stroke="#ffffff" stroke-width="1"/><rect x="15.8" y="13.4" width="1.4" height="4" rx="0.6" fill="#ffffff"/><rect x="15.8" y="18.2" width="1.4" height="1.4" rx="0.6" fill="#ffffff"/>',
  },
};
const trayDir = join(root, 'assets/icons/tray');
mkdirSync(trayDir, { recursive: true });
const tmp = mkdtempSync(join(tmpdir(), 'hearth-icons-'));
for (const [state, parts] of Object.entries(states)) {
  const svg = template
    .replaceAll('{{state}}', state)
    .replace('{{flame}}', parts.flame)
    .replace('{{outline}}', parts.outline)
    .replace('{{badge}}', parts.badge);
  const file = join(tmp, `${state}.svg`);
  writeFileSync(file, svg);
  writeFileSync(join(trayDir, `${state}.svg`), svg);
  // 22 px is the panel size on GNOME (AppIndicator), KDE and XFCE; 16/24/32 for others; @2x for HiDPI.
  for (const size of [16, 22, 24, 32]) render(file, size, join(trayDir, `${state}-${size}.png`));
  render(file, 44, join(trayDir, `${state}-22@2x.png`));
}
rmSync(tmp, { recursive: true, force: true });
process.stdout.write(`icons written to ${appDir} and ${trayDir}\n`);
