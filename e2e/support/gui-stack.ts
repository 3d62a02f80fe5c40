import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { addTinyClass, installTestImage, killVmms } from '../../helper/test/support/environments.js';
import { HearthdProcess, makePaths } from '../../helper/test/support/hearthd-process.js';
import { installDebianImage } from '../../helper/test/support/debian-image.js';
import { useTunLikeDistributions } from '../../helper/test/support/tun.js';
import { asUnit, unitProfile } from '../../helper/test/support/unit-profile.js';
import { CHROMIUM, launchChromium, openRoute } from './browser.js';
import { ensureMember, startMemberBridge, type MemberBridge } from './member-bridge.js';

export const RENDERER = join(import.meta.dirname, '..', '..', 'dist', 'renderer');

/**
 * Whether a GUI spec cannot run here, saying why (a skip is never silent): it needs Debian's
 * chromium, a built renderer, and root (it runs hearthd as its unit does and creates the member).
 */
export function cannotRunGuiSpec(spec: string): string | undefined {
  const missing = [CHROMIUM, join(RENDERER, 'index.html')].filter((p) => !existsSync(p));
  const reason = missing.length
    ? `missing ${missing.join(', ')} (apt-get install chromium; npm run build)`
    : process.getuid?.() !== 0
      ? 'needs root (it runs hearthd as its unit does and creates the hearth member)'
      : undefined;
  if (reason !== undefined) console.warn(`SKIPPED ${spec} e2e: ${reason}`);
  return reason;
}

export interface GuiStack {
  daemon: HearthdProcess;
  bridge: MemberBridge;
  browser: Browser;
  page: Page;
  /** Uncaught errors in the page: a spec ends by expecting none. */
  pageErrors: string[];
  dispose(): Promise<void>;
}

/**
 * What a user has on a deployed machine, for a GUI spec: a real hearthd (run as its unit runs it)
 * booting QEMU TCG VMs, the test image and the `tiny` class installed by root, the browser bridge
 * as an ordinary `hearth` member in its own process, and Chromium on the app at `route`.
 */
export interface GuiStackOptions {
  /**
   * Run hearthd inside this network namespace (the test's own), where its guests' bridge and
   * NAT live; the bridge and Chromium still reach it through its Unix socket.
   */
  netns?: string;
  /** Also install the local Debian image (cloud-init, git): for specs whose guests provision. */
  debianImage?: boolean;
}

export async function startGuiStack(prefix: string, route = '#/', o: GuiStackOptions = {}): Promise<GuiStack> {
  // First: hearthd gives its socket the hearth group only if the group exists when it starts.
  const member = await ensureMember();
  // The machine a deployed user has, whatever this one had before: tun as udev makes it (the
  // readiness check's remedy), and QEMU under TCG, which needs no KVM. hearthd then judges it
  // degraded at worst, and the app opens on the dashboard, not the setup wizard.
  const restoreTun = await useTunLikeDistributions();
  const paths = await makePaths(prefix);
  await installTestImage(paths);
  if (o.debianImage) await installDebianImage(paths);
  const launcher = o.netns === undefined ? undefined : ['ip', 'netns', 'exec', o.netns, ...asUnit(unitProfile())];
  const daemon = await HearthdProcess.start(paths, ['--hypervisor', 'qemu', '--accel', 'tcg'], launcher);
  const disposers: Array<() => Promise<void>> = [
    restoreTun,
    async () => {
      await killVmms(paths);
      await daemon.dispose();
      await rm(paths.dir, { recursive: true, force: true });
    },
  ];
  const dispose = async () => {
    for (const d of disposers.reverse()) await d().catch((e: unknown) => console.warn(`dispose: ${String(e)}`));
  };
  try {
    const client = daemon.client();
    await addTinyClass(client);
    const host = await client.call('getHost', { query: { fresh: true } });
    await client.close();
    // Said here, with hearthd's reason, rather than as a dashboard that never shows.
    if (host.verdict === 'not-ready')
      throw new Error(`hearthd judges this machine not ready, so the app would open on setup: ${host.reason}`);
    const bridge = await startMemberBridge(paths.socket, member);
    disposers.push(() => bridge.close());
    const browser = await launchChromium();
    disposers.push(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await openRoute(page, bridge.url, route);
    return { daemon, bridge, browser, page, pageErrors, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}
