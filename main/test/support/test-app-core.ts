import type { AppCoreOptions } from '../../src/core/app-core.js';
import { AppCore } from '../../src/core/app-core.js';
import { DirectRunner } from '../../src/core/installer.js';

/**
 * The app's main-process logic wired to a real hearthd on `socketPath`, as the Electron shell
 * wires it, minus what these tests do not exercise (installer, autostart, tray, clipboard).
 */
export function testAppCore(socketPath: string, emit: AppCoreOptions['emit'] = () => undefined): AppCore {
  return new AppCore({
    shell: 'electron',
    appVersion: '0.1.0',
    socketPath,
    installScript: '/nonexistent',
    runner: new DirectRunner(),
    isInstalled: () => Promise.resolve(true),
    autostart: null,
    trayAvailable: () => false,
    copyText: () => Promise.resolve(),
    emit,
  });
}
