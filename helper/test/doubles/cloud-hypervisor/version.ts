/**
 * Identity of the contract double. It names itself a double wherever a person or a log could
 * mistake it for the real Cloud Hypervisor: `--version`, `vmm.ping`'s build_version, help text, logs.
 */

/** The Cloud Hypervisor release whose behaviour and OpenAPI document the double follows. */
export const CH_VERSION = '53.0.0';

/** What `--version` and `vmm.ping` report as the build; real CH reports `v53.0.0`. */
export const DOUBLE_BUILD_VERSION = `v${CH_VERSION}-double`;

/** Program name used in clap-style messages, as CH's clap `Command::new` does. */
export const BIN_NAME = 'cloud-hypervisor';

/** Prefix of the double's own diagnostics, so they are never taken for CH's. */
export const DOUBLE_NAME = 'cloud-hypervisor-double';

/**
 * Features `vmm.ping` reports. CH's release binaries are built with the default cargo features;
 * a driver must not rely on this list beyond "kvm" being present.
 */
export const DOUBLE_FEATURES = ['io_uring', 'kvm'];
