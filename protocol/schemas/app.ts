import { Type, type Static } from '@sinclair/typebox';
import { OneOf } from './common.js';
import { SshPublicKey } from './environments.js';
import { VersionInfo } from './system.js';

/**
 * What the app itself knows and tells the window (not hearthd's API): its connection to hearthd,
 * the installer's progress, and its own settings. The IPC table (../ipc.ts) carries these.
 */

// ---------------------------------------------------------------------------------------------
// Connection to hearthd, as the app sees it

export const ConnectionState = OneOf(
  ['connecting', 'not-installed', 'stopped', 'permission-denied', 'connected', 'version-mismatch', 'unreachable'],
  { description: 'How the app stands with hearthd right now' },
);
export type ConnectionState = Static<typeof ConnectionState>;

export const ConnectionStatus = Type.Object(
  {
    state: ConnectionState,
    /** One sentence a person can act on. */
    message: Type.String(),
    socket: Type.String(),
    /** The running hearthd, when it answered. */
    version: Type.Optional(VersionInfo),
    /** The hearthd this app ships; when it differs from the running one, the installer upgrades. */
    bundledVersion: Type.String(),
    upgradeAvailable: Type.Boolean(),
    /** When the next reconnect attempt is due (ms since epoch), while not connected. */
    retryAt: Type.Optional(Type.Number()),
    since: Type.Number({ description: 'When this state began (ms since epoch)' }),
  },
  { additionalProperties: false },
);
export type ConnectionStatus = Static<typeof ConnectionStatus>;

// ---------------------------------------------------------------------------------------------
// Installer

/**
 * install/uninstall: hearthd itself. build-image: the local Debian image (debootstrap needs what
 * hearthd's sandbox forbids, so it runs here, under the installer's one prompt; hearthd only
 * imports the result). install-cloud-hypervisor: the pinned, digest-checked release and its firmware.
 * link-cli/unlink-cli: the `hearth` command on PATH for AppImage users, /usr/local/bin/hearth ->
 * /usr/lib/hearth/hearth (the deb and rpm provide /usr/bin/hearth themselves).
 */
export const InstallAction = OneOf([
  'install',
  'uninstall',
  'build-image',
  'install-cloud-hypervisor',
  'link-cli',
  'unlink-cli',
]);
export type InstallAction = Static<typeof InstallAction>;

export const InstallStepId = OneOf([
  'authorize',
  'preflight',
  'users',
  'files',
  'unit',
  'runtime',
  'access',
  'service',
  'socket',
  'verify',
  'stop',
  'network',
  'data',
  // build-image (hearthd build-image)
  'bootstrap',
  'packages',
  'agent',
  'disk',
  'import',
  // install-cloud-hypervisor (hearthd install-cloud-hypervisor)
  'download',
  'verify-digest',
  'firmware',
  'install-vmm',
  // link-cli, unlink-cli
  'link',
  'unlink',
]);
export type InstallStepId = Static<typeof InstallStepId>;

export const InstallStepState = OneOf(['pending', 'running', 'changed', 'unchanged', 'skipped', 'failed']);
export type InstallStepState = Static<typeof InstallStepState>;

export const InstallStep = Type.Object(
  {
    id: InstallStepId,
    title: Type.String(),
    state: InstallStepState,
    note: Type.Optional(Type.String()),
    /** `::progress <id> <percent> <message>`: how far a long step is (downloads, package installs). */
    percent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
  },
  { additionalProperties: false },
);
export type InstallStep = Static<typeof InstallStep>;

export const InstallRun = Type.Object(
  {
    action: InstallAction,
    /** install | upgrade | repair | uninstall: what the plan decided this run is. */
    kind: OneOf(['install', 'upgrade', 'repair', 'uninstall']),
    state: OneOf(['running', 'succeeded', 'failed', 'cancelled']),
    steps: Type.Array(InstallStep),
    log: Type.Array(Type.String()),
    error: Type.Optional(Type.String()),
    startedAt: Type.Number(),
    finishedAt: Type.Optional(Type.Number()),
  },
  { additionalProperties: false },
);
export type InstallRun = Static<typeof InstallRun>;

export const InstallRequest = Type.Object(
  {
    action: InstallAction,
    /** Uninstall only: also delete environments, images and settings. */
    purge: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type InstallRequest = Static<typeof InstallRequest>;

// ---------------------------------------------------------------------------------------------
// The app itself

export const CloseAction = OneOf(['tray', 'quit'], {
  description: 'tray: closing the window keeps Hearth running in the tray; quit: it quits',
});
export type CloseAction = Static<typeof CloseAction>;

export const AppInfo = Type.Object(
  {
    version: Type.String(),
    /** electron: the desktop app; browser: `npm run dev:web`, a development bridge. */
    shell: OneOf(['electron', 'browser']),
    autostart: Type.Boolean(),
    trayAvailable: Type.Boolean(),
    /** What closing the window does (saved by main); `tray` only takes effect when there is a tray. */
    closeAction: CloseAction,
  },
  { additionalProperties: false },
);
export type AppInfo = Static<typeof AppInfo>;

// ---------------------------------------------------------------------------------------------
// The `hearth` command line, as the app finds it (Settings → Command line)

export const CliStatus = Type.Object(
  {
    /** The `hearth` a shell started by this user finds first on PATH, or null. */
    command: Type.Union([Type.String(), Type.Null()]),
    /** What that resolves to (through links): /usr/lib/hearth/hearth when it is Hearth's. */
    target: Type.Union([Type.String(), Type.Null()]),
    /** The installed command file (/usr/lib/hearth/hearth), present: the helper install puts it there. */
    installedPath: Type.String(),
    installed: Type.Boolean(),
    /** Where "Install the hearth command" makes the link. */
    linkPath: Type.String(),
    /**
     * The app may offer the link: it runs as an AppImage (the deb and rpm ship /usr/bin/hearth),
     * the command is installed, no `hearth` is on PATH, and nothing else is at linkPath.
     */
    canLink: Type.Boolean(),
    /** The one line that shows what the command does. */
    usage: Type.String(),
  },
  { additionalProperties: false },
);
export type CliStatus = Static<typeof CliStatus>;

// ---------------------------------------------------------------------------------------------
// SSH on the user's side (user/ssh): the key, the Hearth-owned ssh_config, the Include

export const SshInclude = OneOf(['present', 'absent', 'inert'], {
  description:
    'present: ~/.ssh/config includes Hearth’s file before any Host or Match block; absent: it does not; ' +
    'inert: it does, but only after a Host or Match block, where it applies inside that block alone',
});
export type SshInclude = Static<typeof SshInclude>;

export const SshSetup = Type.Object(
  {
    /** The user's public key (`~/.config/hearth/id_ed25519.pub`), sent at create; null: none yet. */
    publicKey: Type.Union([SshPublicKey, Type.Null()]),
    keyPath: Type.String(),
    /** The one file Hearth writes for ssh: `Host <name>.hearth` entries. */
    configPath: Type.String(),
    /** The user's own ssh config, where the Include line goes (with consent). */
    userConfigPath: Type.String(),
    include: SshInclude,
    /** The exact line Hearth adds at the top of userConfigPath. */
    includeLine: Type.String(),
  },
  { additionalProperties: false },
);
export type SshSetup = Static<typeof SshSetup>;
