import type { RepositoryAccess } from '../repository/access.js';
import type { Component, ComponentContext, LiveVm } from './component.js';

/**
 * The environment's repository access while its VM runs: hearthd answers the guest's credential
 * helper and relayed SSH agent through the guest session, from launch (the clone needs them)
 * and again after a restarted hearthd reattached. Nothing is prepared or kept on disk: the
 * answers end with the session.
 */
export class RepositoryAccessComponent implements Component {
  readonly name = 'repository-access';

  constructor(private readonly access: RepositoryAccess) {}

  prepare(): Promise<Record<string, never>> {
    return Promise.resolve({});
  }

  afterLaunch(ctx: ComponentContext, vm: LiveVm): Promise<void> {
    this.serve(ctx, vm);
    return Promise.resolve();
  }

  onReattach(ctx: ComponentContext, vm: LiveVm): Promise<void> {
    this.serve(ctx, vm);
    return Promise.resolve();
  }

  teardown(): Promise<void> {
    return Promise.resolve();
  }

  recover(): Promise<void> {
    return Promise.resolve();
  }

  destroy(): Promise<void> {
    return Promise.resolve();
  }

  private serve(ctx: ComponentContext, vm: LiveVm): void {
    const { repository, owner } = ctx.spec;
    if (!repository || !vm.session.available) return;
    this.access.serve(vm.session, owner.uid, repository, ctx.log);
  }
}
