import { join } from 'node:path';
import { Menu, nativeImage, Tray, type MenuItemConstructorOptions } from 'electron';
import type { TrayAction, TrayMenuItem, TrayModel } from '../core/tray-model.js';

/** Renders a TrayModel into Electron's tray; the model is rebuilt and re-applied on every change. */
export class TrayView {
  private readonly tray: Tray;

  constructor(
    private readonly iconDir: string,
    private readonly onAction: (action: TrayAction) => void,
  ) {
    this.tray = new Tray(this.image('not-ready'));
    this.tray.on('click', () => onAction({ kind: 'open-dashboard' }));
  }

  apply(model: TrayModel): void {
    this.tray.setImage(this.image(model.icon));
    this.tray.setToolTip(model.tooltip);
    this.tray.setContextMenu(Menu.buildFromTemplate(model.menu.map((item) => this.item(item))));
  }

  destroy(): void {
    this.tray.destroy();
  }

  private image(icon: TrayModel['icon']) {
    // 22 px is what GNOME (AppIndicator), KDE and XFCE panels draw; the @2x file serves HiDPI.
    return nativeImage.createFromPath(join(this.iconDir, `${icon}-22.png`));
  }

  private item(item: TrayMenuItem): MenuItemConstructorOptions {
    switch (item.type) {
      case 'label':
        return { label: item.label, enabled: false };
      case 'separator':
        return { type: 'separator' };
      case 'submenu':
        return { label: item.label, submenu: item.items.map((i) => this.item(i)) };
      case 'action':
        return { label: item.label, enabled: item.enabled ?? true, click: () => this.onAction(item.action) };
    }
  }
}
