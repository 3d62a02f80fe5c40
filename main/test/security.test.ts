import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Static checks of the security settings that only the Electron binary would exercise at runtime. */
const repo = join(import.meta.dirname, '..', '..');

describe('renderer content security policy', () => {
  it('the page ships a strict CSP: no inline or eval script, no network', async () => {
    for (const file of ['renderer/index.html', 'dist/renderer/index.html']) {
      const html = await readFile(join(repo, file), 'utf8');
      const csp = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1];
      expect(csp, file).toBeDefined();
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'none'");
      expect(csp).toContain("object-src 'none'");
      expect(csp).not.toMatch(/unsafe-(inline|eval)|\*|https?:/);
      // No inline scripts for the policy to have to allow.
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    }
  });
});

describe('Electron main process settings', () => {
  it('creates its window isolated and sandboxed, and denies navigation, popups and permissions', async () => {
    const main = await readFile(join(repo, 'main/src/main.ts'), 'utf8');
    for (const setting of [
      'contextIsolation: true',
      'sandbox: true',
      'nodeIntegration: false',
      'nodeIntegrationInSubFrames: false',
      'webSecurity: true',
      'webviewTag: false',
      'devTools: !packaged',
    ])
      expect(main).toContain(setting);
    expect(main).toContain("setWindowOpenHandler(() => ({ action: 'deny' }))");
    expect(main).toContain("on('will-navigate', (event) => event.preventDefault())");
    expect(main).toContain('setPermissionRequestHandler((_wc, _permission, callback) => callback(false))');
    expect(main).toContain('setPermissionCheckHandler(() => false)');
    expect(main).toContain('requestSingleInstanceLock()');
    expect(main).toContain("appendSwitch('gtk-version', '3')");
  });

  it('the preload exposes only window.hearth, never ipcRenderer itself', async () => {
    const preload = await readFile(join(repo, 'main/src/preload.ts'), 'utf8');
    expect([...preload.matchAll(/exposeInMainWorld\('(\w+)'/g)].map((m) => m[1])).toEqual(['hearth']);
    expect(preload).not.toMatch(/exposeInMainWorld\([^)]*ipcRenderer/);
  });

  it('the packaged main bundle does not contain the browser bridge', async () => {
    const bundle = await readFile(join(repo, 'dist/main/main.cjs'), 'utf8');
    expect(bundle).not.toContain('hearth-bridge.js');
    expect(bundle).not.toContain('WebBridge');
  });
});
