/**
 * Screenshots of coloured lines, light and dark. They are renderer-only: hearthd strips escape
 * sequences from console lines it serves, so the bench's real path delivers them plain. The
 * bridge client is swapped for a stand-in `window.hearth` that answers the app's calls and feeds
 * a console.
 */
import type { Browser } from 'playwright-core';
import { artifactPath } from '../../e2e/support/browser.js';

const SCREENSHOT_HEARTH = `(() => {
  const sample = ${JSON.stringify([
    '\x1b[1;32m[  OK  ]\x1b[0m Started \x1b[1mOpenBSD Secure Shell server\x1b[0m.',
    '\x1b[1;31m[FAILED]\x1b[0m Failed to start \x1b[1mcloud-init-local.service\x1b[0m.',
    '\x1b[33mwarning:\x1b[0m disk /dev/vdb has no partition table',
    '\x1b[36mgit\x1b[0m clone \x1b[4mhttps://example.com/acme/web.git\x1b[0m /workspace',
    '\x1b[38;5;208mnpm\x1b[0m \x1b[2mWARN\x1b[0m deprecated inflight@1.0.6',
    '\x1b[38;2;120;180;255mtruecolor\x1b[0m \x1b[35mmagenta\x1b[0m \x1b[34mblue\x1b[0m \x1b[7minverse\x1b[0m plain',
  ])};
  const listeners = new Map();
  const emit = (name, payload) => (listeners.get(name) || new Set()).forEach((l) => l(payload));
  const status = { state: 'connected', message: 'Connected', socket: '/run/hearth/hearthd.sock', bundledVersion: '0.1.0', upgradeAvailable: false, since: Date.now() };
  const answers = { getConnection: status, getInstallRun: null, getAppInfo: { version: '0.1.0', shell: 'browser', autostart: false, trayAvailable: false }, subscribe: { id: 'sub-1' } };
  window.hearth = Object.freeze({
    invoke(name) {
      if (name === 'subscribe') setTimeout(() => {
        const lines = [];
        for (let i = 0; i < 400; i += 1) lines.push(sample[i % sample.length] + ' #' + i);
        emit('subscription', { id: 'sub-1', topic: 'logs', kind: 'item', item: { type: 'lines', lines } });
      }, 50);
      if (name in answers) return Promise.resolve({ ok: true, value: answers[name] });
      return Promise.resolve({ ok: false, error: { source: 'ipc', code: 'unavailable', message: 'screenshot stand-in' } });
    },
    on(name, listener) {
      const set = listeners.get(name) || new Set();
      listeners.set(name, set);
      set.add(listener);
      return () => set.delete(listener);
    },
  });
})();`;

/** Opens the dev web server's console route at `url` with the stand-in; the screenshots go to the artifacts. */
export async function colouredScreenshots(browser: Browser, url: string): Promise<void> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
  await page.route('**/hearth-bridge.js', (route) =>
    route.fulfill({ contentType: 'text/javascript', body: SCREENSHOT_HEARTH }),
  );
  await page.goto(`${new URL(url).origin}/#/environments/web/console`);
  // The page's CSP forbids eval: wait with a locator, not a function.
  await page.locator('[data-testid="log-viewer"][data-lines="400"]').waitFor();
  await page.getByLabel('Search log').fill('failed');
  await page.waitForSelector('mark.log-hit');
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({ path: await artifactPath(`logviewer-colours-${scheme}.png`) });
  }
  await page.close();
}
