import { appendFile, rm } from 'node:fs/promises';
import { isMissing } from '../../system/host-root.js';
import { rotateIfLarge } from '../log-files.js';
import type { Component, ComponentContext } from './component.js';
import { handOver } from './disk.js';

/** The serial console file: size-capped, one rotated part kept, readable by root only. */
export class ConsoleComponent implements Component {
  readonly name = 'console';

  async prepare(ctx: ComponentContext): Promise<{ consoleFile: string }> {
    // First take the file back: its owner (the VMM user) may have changed its mode to lock
    // hearthd out, and hearthd has no CAP_DAC_OVERRIDE, only CAP_FOWNER.
    await handOver(ctx.layout.console, ctx).catch((error: unknown) => {
      if (!isMissing(error)) throw error;
    });
    await rotateIfLarge(ctx.layout.console, ctx.layout.consoleRotated);
    await appendFile(ctx.layout.console, '', { mode: 0o600 });
    await handOver(ctx.layout.console, ctx);
    return { consoleFile: ctx.layout.console };
  }

  teardown(): Promise<void> {
    return Promise.resolve();
  }

  recover(): Promise<void> {
    return Promise.resolve();
  }

  async destroy(ctx: ComponentContext): Promise<void> {
    await rm(ctx.layout.console, { force: true });
    await rm(ctx.layout.consoleRotated, { force: true });
  }
}
