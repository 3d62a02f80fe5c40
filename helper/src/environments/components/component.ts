import type { Image } from '../../images/image-store.js';
import type { Logger } from '../../log.js';
import type { VmmUser } from '../../system/passwd.js';
import type { VmDevice } from '../../vmm/driver.js';
import type { GuestSession } from '../../guest/session.js';
import type { EnvironmentLayout } from '../layout.js';
import type { ComponentStates, Spec } from '../record.js';

/** What a component knows of the environment it serves. */
export interface ComponentContext {
  spec: Spec;
  /**
   * Every component's stored state, part of the environment's record (record.ts): a component
   * writes only its own key, in `init` (saved with the new record); read it anywhere.
   */
  state: ComponentStates;
  layout: EnvironmentLayout;
  /** The user the VMM runs as; files the VMM opens by path are handed to it. */
  vmmUser: VmmUser | undefined;
  /** Whether this launch's VMM opens its disk and console by path (Cloud Hypervisor) or gets them as fds (QEMU). */
  vmmOpensFiles: boolean;
  log: Logger;
  /** hearthd's own account in the environment's event log. */
  journal: (event: string, message: string) => Promise<void>;
}

/** What a create asked for, as far as components are concerned. */
export interface CreateInputs {
  image: Image;
  /** The guest may reach only what lies beyond the default route (network). */
  isolated: boolean;
}

/** A component's share of the VM: the paths it made, by role, and the devices it attaches (any number). */
export interface SpecContribution {
  consoleFile?: string;
  runtimeDir?: string;
  devices?: VmDevice[];
}

/** What runs once the VMM does: its guest session (guest-session.ts), for components that talk to the guest. */
export interface LiveVm {
  session: GuestSession;
}

/**
 * One concern of an environment (its disk, its console, its runtime directory, its network, its
 * host keys, its cloud-init seed; next: credentials, ports). Components run in order before
 * every launch and are torn down in reverse; each step is idempotent, so a crash half-way is
 * finished by running it again or undone by `recover`.
 *
 * The hooks after launch, on reattach and before stop are where work inside the guest belongs:
 * they are given the guest session. A failing hook is logged and journaled; it never stops or
 * fails the VM (which already runs), so a component must not rely on one for safety.
 */
export interface Component {
  readonly name: string;
  /**
   * At create, before the record is first saved: choose what the component keeps for the
   * environment's life (an address, generated keys) in `ctx.state`. A failure refuses the
   * create and leaves nothing of it behind; throw a DomainError to say why.
   */
  init?(ctx: ComponentContext, create: CreateInputs): Promise<void>;
  /** Once, when the environment is created (a disk is made here, not at every start). */
  create?(ctx: ComponentContext): Promise<void>;
  /** Before each launch: make what the VM needs, return its share of the VM spec. */
  prepare(ctx: ComponentContext): Promise<SpecContribution>;
  /** After the VMM started and was recorded. */
  afterLaunch?(ctx: ComponentContext, vm: LiveVm): Promise<void>;
  /** After a restarted hearthd reattached to the environment's running VMM. */
  onReattach?(ctx: ComponentContext, vm: LiveVm): Promise<void>;
  /** Before the guest is asked to stop (power button), or ended without asking (terminate, kill). */
  beforeStop?(ctx: ComponentContext, vm: LiveVm): Promise<void>;
  /** After the VMM is gone, or when a later component's prepare failed. */
  teardown(ctx: ComponentContext): Promise<void>;
  /** At hearthd's start, for an environment without a live VMM: undo what a crash left half-done. */
  recover(ctx: ComponentContext): Promise<void>;
  /** When the environment is deleted: remove what it owns. */
  destroy(ctx: ComponentContext): Promise<void>;
}
