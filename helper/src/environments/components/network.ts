import type { NetworkService } from '../../network/network-service.js';
import type { Component, ComponentContext, SpecContribution } from './component.js';

/**
 * The VM's place on the bridge: a TAP of its own, owned by the VMM user, that the host's rules
 * and dnsmasq know by MAC and address. Environments without a network (images without
 * provisioning) are passed through untouched.
 */
export class NetworkComponent implements Component {
  readonly name = 'network';

  constructor(private readonly network: NetworkService) {}

  async prepare(ctx: ComponentContext): Promise<SpecContribution> {
    const { id, name, owner, network: place } = ctx.spec;
    if (!place) return {};
    if (owner.uid === null) throw new Error('an environment without an owner gets no network');
    const guest = { id, name, ownerUid: owner.uid, mac: place.mac, isolated: place.isolated };
    const network = await this.network.attach({ ...guest, address: this.network.addressFor(place.host) }, ctx.vmmUser);
    await ctx.journal('network-attached', `TAP ${network.tap} on the bridge (MAC ${network.mac})`);
    return { network };
  }

  async teardown(ctx: ComponentContext): Promise<void> {
    if (ctx.spec.network) await this.network.detach(ctx.spec.id);
  }

  async recover(ctx: ComponentContext): Promise<void> {
    await this.teardown(ctx);
  }

  async destroy(ctx: ComponentContext): Promise<void> {
    await this.teardown(ctx);
  }
}
