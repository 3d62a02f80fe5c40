import { DomainError, messageOf } from '../../errors.js';
import { generateHostKeys, removeHostKeys } from '../../guest/host-keys.js';
import type { Component, ComponentContext, CreateInputs } from './component.js';

/**
 * The guest's SSH host keys, made by hearthd at create so the owner's SSH client can trust the
 * guest from its first connection: the private halves are files in the environment's directory
 * (the seed carries them into the guest), the public halves its stored state (the API's `ssh`).
 */
export class HostKeysComponent implements Component {
  readonly name = 'host-keys';

  constructor(private readonly sshKeygen: () => Promise<string>) {}

  async init(ctx: ComponentContext, create: CreateInputs): Promise<void> {
    if (create.image.manifest.provisioning !== 'cloud-init') return;
    try {
      ctx.state.hostKeys = await generateHostKeys(await this.sshKeygen(), ctx.layout.stateDir, `hearth-${ctx.spec.id}`);
    } catch (error) {
      throw new DomainError('unavailable', `could not generate the guest's SSH host keys: ${messageOf(error)}`);
    }
  }

  prepare(): Promise<Record<string, never>> {
    return Promise.resolve({});
  }

  teardown(): Promise<void> {
    return Promise.resolve();
  }

  recover(): Promise<void> {
    return Promise.resolve();
  }

  async destroy(ctx: ComponentContext): Promise<void> {
    await removeHostKeys(ctx.layout.stateDir);
  }
}
