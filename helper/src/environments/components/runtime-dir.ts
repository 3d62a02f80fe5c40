import { chmod, mkdir, rm } from 'node:fs/promises';
import { releaseVmmFiles } from '../../vmm/runtime-files.js';
import type { Component, ComponentContext } from './component.js';

/**
 * `<runtime>/vms/<id>/`: root's own directory for the VMM's control sockets and pid file. The
 * VMM never gets a path in it — hearthd binds the sockets and hands the VMM their fds — so
 * nothing in it can be changed by the VMM user, and root can remove it without a race.
 */
export class RuntimeDirComponent implements Component {
  readonly name = 'runtime-dir';

  async prepare(ctx: ComponentContext): Promise<{ runtimeDir: string }> {
    await rm(ctx.layout.runtimeDir, { recursive: true, force: true });
    await mkdir(ctx.layout.runtimeDir, { recursive: true, mode: 0o700 });
    await chmod(ctx.layout.runtimeDir, 0o700);
    return { runtimeDir: ctx.layout.runtimeDir };
  }

  async teardown(ctx: ComponentContext): Promise<void> {
    await rm(ctx.layout.runtimeDir, { recursive: true, force: true });
    // A VMM's own directory may sit beside it (Cloud Hypervisor's vsock sockets, the VMM user's).
    const { movedAside } = await releaseVmmFiles({ id: ctx.spec.id, runtimeDir: ctx.layout.runtimeDir });
    if (movedAside.length) ctx.log.warn({ movedAside }, 'the VMM user left directories in its vsock directory');
  }

  async recover(ctx: ComponentContext): Promise<void> {
    await this.teardown(ctx);
  }

  async destroy(ctx: ComponentContext): Promise<void> {
    await this.teardown(ctx);
  }
}
