import type { Logger } from '../../log.js';
import type { VmmUser } from '../../system/passwd.js';
import type { EnvironmentLayout } from '../layout.js';
import type { Spec } from '../record.js';

/** What a component knows of the environment it serves. */
export interface ComponentContext {
  spec: Spec;
  layout: EnvironmentLayout;
  /** The user the VMM runs as; files the VMM opens by path are handed to it. */
  vmmUser: VmmUser | undefined;
  /** Whether this launch's VMM opens its disk and console by path (Cloud Hypervisor) or gets them as fds (QEMU). */
  vmmOpensFiles: boolean;
  log: Logger;
  /** hearthd's own account in the environment's event log. */
  journal: (event: string, message: string) => Promise<void>;
}

/** A component's share of the VM: the paths it made, by role. */
export interface SpecContribution {
  disk?: string;
  consoleFile?: string;
  runtimeDir?: string;
  /** cloud-init's NoCloud seed (components/seed.ts). */
  seedDisk?: string;
  /** The VM's TAP and MAC (network component). */
  network?: { tap: string; mac: string };
  /** The guest agent's channel is wanted (images with provisioning). */
  guestChannel?: boolean;
}

/**
 * One concern of an environment (its disk, its console, its runtime directory; next: network,
 * cloud-init seed, credentials, ports). Components run in order before every launch and are
 * torn down in reverse; each step is idempotent, so a crash half-way is finished by running it
 * again or undone by `recover`.
 */
export interface Component {
  readonly name: string;
  /** Once, when the environment is created (a disk is made here, not at every start). */
  create?(ctx: ComponentContext): Promise<void>;
  /** Before each launch: make what the VM needs, return its share of the VM spec. */
  prepare(ctx: ComponentContext): Promise<SpecContribution>;
  /** After the VMM is gone, or when a later component's prepare failed. */
  teardown(ctx: ComponentContext): Promise<void>;
  /** At hearthd's start, for an environment without a live VMM: undo what a crash left half-done. */
  recover(ctx: ComponentContext): Promise<void>;
  /** When the environment is deleted: remove what it owns. */
  destroy(ctx: ComponentContext): Promise<void>;
}
