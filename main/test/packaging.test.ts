import { execFileSync } from 'node:child_process';
import { access, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * electron-builder.yml cannot be built here (it needs the Electron binary), so it is checked the
 * way electron-builder itself checks it before building, plus the files it points at.
 */
const repo = join(import.meta.dirname, '..', '..');
const require = createRequire(import.meta.url);

interface BuilderConfig {
  extraResources: Array<{ from: string; to: string; filter?: string[] }>;
  linux: { target: string[]; icon: string; executableName: string; desktop: { entry: Record<string, string> } };
  deb: { afterInstall: string; afterRemove?: string; fpm: string[] };
  rpm: { afterInstall: string; afterRemove?: string; fpm: string[] };
}

async function loadConfig(): Promise<BuilderConfig> {
  const { getConfig } = require('app-builder-lib/out/util/config/config.js') as {
    getConfig: (dir: string, path: string | null, options: null) => Promise<unknown>;
  };
  return (await getConfig(repo, join(repo, 'electron-builder.yml'), null)) as BuilderConfig;
}

describe('electron-builder.yml', () => {
  it("passes electron-builder's own configuration validation", async () => {
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as {
      validateConfiguration: (config: unknown, logger: unknown) => Promise<void>;
    };
    const { DebugLogger } = require('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };
    const config = await loadConfig();
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined();
    await expect(
      validateConfiguration({ ...config, linux: { ...config.linux, tagret: ['deb'] } }, new DebugLogger(false)),
    ).rejects.toThrow(/Invalid configuration object/);
  });

  it('builds AppImage, deb and rpm, with hearthd, its runtime and the install script as extra resources', async () => {
    const config = await loadConfig();
    expect(config.linux.target).toEqual(['AppImage', 'deb', 'rpm']);
    const shipped = config.extraResources.flatMap((r) => (r.filter ? r.filter.map((f) => `${r.to}/${f}`) : [r.to]));
    for (const file of [
      'hearth-helper/hearthd.mjs',
      'hearth-helper/hearth.cjs',
      'hearth-helper/node',
      'hearth-helper/koffi.node',
      'hearth-helper/VERSION',
      'hearth-helper/hearth-install.sh',
      'hearth-helper/hearthd.service',
      'hearth-helper/hearth-sysusers.conf',
      'hearth-helper/hearth-tmpfiles.conf',
      'icons/tray/*.png',
    ])
      expect(shipped).toContain(file);
    // Every source the repo provides exists (node, koffi.node and VERSION are staged by scripts/stage-helper.mjs).
    for (const r of config.extraResources.filter((r) => !r.from.startsWith('build-resources/stage'))) {
      await access(join(repo, r.from));
      for (const f of (r.filter ?? []).filter((f) => !f.includes('*'))) await access(join(repo, r.from, f));
    }
    expect(config.linux.desktop.entry).toMatchObject({ Name: 'Hearth', Categories: 'Development;' });
    for (const size of [16, 32, 48, 128, 256, 512]) await access(join(repo, config.linux.icon, `${size}x${size}.png`));
  });

  it('deb and rpm maintainer scripts call the same install script, and skip removal on upgrade', async () => {
    const config = await loadConfig();
    for (const target of [config.deb, config.rpm]) {
      const after = await readFile(join(repo, target.afterInstall), 'utf8');
      expect(after).toContain('script=/opt/Hearth/resources/hearth-helper/hearth-install.sh');
      expect(after).toContain('/bin/bash "$script" install;');
      const before = target.fpm.find((a) => a.startsWith('--before-remove='))!.split('=')[1]!;
      expect(await readFile(join(repo, before), 'utf8')).toContain('/bin/bash "$script" uninstall');
      for (const script of [target.afterInstall, before]) {
        expect((await stat(join(repo, script))).mode & 0o111).not.toBe(0);
        execFileSync('sh', ['-n', join(repo, script)]);
      }
    }
    // The package provides /usr/bin/hearth through the install script (which refuses a foreign
    // file there) and takes it away on removal, before the helper itself.
    for (const target of [config.deb, config.rpm]) {
      expect(await readFile(join(repo, target.afterInstall), 'utf8')).toMatch(
        /"\$script" link-cli --link \/usr\/bin\/hearth/,
      );
      const before = target.fpm.find((a) => a.startsWith('--before-remove='))!.split('=')[1]!;
      const text = await readFile(join(repo, before), 'utf8');
      expect(text).toMatch(/"\$script" unlink-cli --link \/usr\/bin\/hearth/);
      expect(text.indexOf('unlink-cli')).toBeLessThan(text.indexOf('" uninstall'));
    }
    // "upgrade" (deb) and "1" (rpm) leave the helper alone.
    const before = join(repo, 'build-resources/linux/before-remove.sh');
    for (const arg of ['upgrade', '1']) expect(execFileSync('sh', [before, arg], { encoding: 'utf8' })).toBe('');
  });
});

describe('the hearth command and the app executable in the packages', () => {
  it('names the app hearth-app, so `hearth` on PATH is the command line', async () => {
    const config = await loadConfig();
    expect(config.linux.executableName).toBe('hearth-app');
    // electron-builder derives the menu entry's Exec and Icon from executableName; setting Exec
    // ourselves would make it refuse the config, and the window class stays the product's.
    expect(config.linux.desktop.entry.Exec).toBeUndefined();
    expect(config.linux.desktop.entry.StartupWMClass).toBe('Hearth');
    const { APP_ICON_NAME } = await import('../src/core/autostart.js');
    expect(APP_ICON_NAME).toBe(config.linux.executableName);
    // Our after-install stands in for electron-builder's: the AppArmor profile (Ubuntu 24.04+ lets
    // only profiled programs use user namespaces, which Chromium's sandbox needs) goes where
    // electron-builder's after-remove template deletes it, under the executable's name.
    const after = await readFile(join(repo, config.deb.afterInstall), 'utf8');
    expect(after).toContain(`cp -f "$profile" /etc/apparmor.d/${config.linux.executableName}`);
    const templates = join(require.resolve('app-builder-lib/package.json'), '..', 'templates', 'linux');
    expect(await readFile(join(templates, 'after-remove.tpl'), 'utf8')).toContain(
      "APPARMOR_PROFILE_DEST='/etc/apparmor.d/${executable}'",
    );
    expect(after).toMatch(/chmod 4755 "\$app\/chrome-sandbox"/);
  });

  it("leaves /usr/bin/hearth to us: electron-builder's own scripts touch only /usr/bin/<executableName>", async () => {
    const config = await loadConfig();
    // Our after-install replaces electron-builder's template (the one that would link
    // /usr/bin/<executableName>); its after-remove template stays, and names only that link.
    const templates = join(require.resolve('app-builder-lib/package.json'), '..', 'templates', 'linux');
    const afterRemove = await readFile(join(templates, 'after-remove.tpl'), 'utf8');
    const binPaths = [...afterRemove.matchAll(/rm -f '(\/usr\/bin\/[^']+)'/g)].map((m) => m[1]);
    expect(binPaths.length).toBeGreaterThan(0);
    expect(new Set(binPaths)).toEqual(new Set(['/usr/bin/${executable}']));
    for (const target of [config.deb, config.rpm]) {
      expect(target.afterRemove).toBeUndefined();
      expect(await readFile(join(repo, target.afterInstall), 'utf8')).not.toContain('${executable}');
    }
    expect(config.linux.executableName).not.toBe('hearth');
  });

  it('ships the bundled command, which runs on the runtime installed beside hearthd', async () => {
    const config = await loadConfig();
    const cli = config.extraResources.find((r) => r.to === 'hearth-helper/hearth.cjs');
    expect(cli?.from).toBe('dist/cli/hearth.cjs');
    // Built by `npm run build` (the packages are built after it): one file, its first line the runtime.
    const bundle = await readFile(join(repo, cli!.from), 'utf8');
    expect(bundle.split('\n', 1)[0]).toBe('#!/usr/lib/hearth/node');
    expect(bundle).not.toMatch(/^\s*(?:import\s|export\s)/m);
    const help = execFileSync(process.execPath, [join(repo, cli!.from), '--help'], { encoding: 'utf8' });
    expect(help).toMatch(/Usage: hearth /);
  });
});
