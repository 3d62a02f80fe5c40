import { allocateNetwork } from '../../network/allocate.js';
import type { StoredNetwork } from '../../network/guest-network.js';
import type { NetworkService } from '../../network/network-service.js';
import type { Subnet } from '../../network/subnet.js';
import type { Component, ComponentContext, CreateInputs, SpecContribution } from './component.js';

export interface NetworkComponentDeps {
  network: NetworkService;
  /** Every other environment's place on the bridge (a new one must differ from all of them). */
  taken: () => StoredNetwork[];
  /** The bridge's subnet, from settings. */
  subnet: () => Subnet;
}

/**
 * The VM's place on the bridge: chosen at create (its stored state: host number, MAC,
 * isolation), and before each launch a TAP of its own, owned by the VMM user, that the host's
 * rules and dnsmasq know by MAC and address. Environments without a network (images without
 * provisioning) are passed through untouched.
 */
export class NetworkComponent implements Component {
  readonly name = 'network';

  constructor(private readonly d: NetworkComponentDeps) {}

  /** Synchronous from reading the others to storing its own, so two creates never take one place. */
  init(ctx: ComponentContext, create: CreateInputs): Promise<void> {
    if (create.image.manifest.provisioning === 'cloud-init')
      ctx.state.network = allocateNetwork(this.d.taken(), this.d.subnet(), create.isolated);
    return Promise.resolve();
  }

  async prepare(ctx: ComponentContext): Promise<SpecContribution> {
    const place = ctx.state.network;
    if (!place) return {};
    const { id, name, owner } = ctx.spec;
    if (owner.uid === null) throw new Error('an environment without an owner gets no network');
    const guest = { id, name, ownerUid: owner.uid, mac: place.mac, isolated: place.isolated };
    const network = await this.d.network.attach(
      { ...guest, address: this.d.network.addressFor(place.host) },
      ctx.vmmUser,
    );
    await ctx.journal('network-attached', `TAP ${network.tap} on the bridge (MAC ${network.mac})`);
    return { devices: [{ kind: 'nic', ...network }] };
  }

  async teardown(ctx: ComponentContext): Promise<void> {
    if (ctx.state.network) await this.d.network.detach(ctx.spec.id);
  }

  async recover(ctx: ComponentContext): Promise<void> {
    await this.teardown(ctx);
  }

  async destroy(ctx: ComponentContext): Promise<void> {
    await this.teardown(ctx);
  }
}
