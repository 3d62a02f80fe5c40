import { resolve } from 'node:path';
import { parseFlags } from './cli-flags.js';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ImageName, Settings } from '#protocol';
import type { DaemonOptions } from './daemon/daemon.js';
import type { ImageSource } from './images/image-store.js';
import type { BuildImageOptions } from './images/local-build/build-image.js';
import { DEFAULT_IMAGE_NAME, DEFAULT_MIRROR, defaultSecurityMirror } from './images/local-build/recipe.js';
import { CRASH_POINTS, type CrashPoint } from './environments/environment-manager.js';
import { DEFAULT_API_LIMITS, type ApiLimits } from './api/limits.js';
import { INSTALL_CH_USAGE, parseInstallCloudHypervisor, type InstallChParse } from './vmm/install/command.js';

export const USAGE = `Usage: hearthd [options]

Runs the Hearth helper daemon in the foreground. The installed service runs it as root with the
defaults; for development run it as yourself with your own paths:

  npm run hearthd -- --socket /tmp/hearth/hearthd.sock --state-dir /tmp/hearth/state --runtime-dir /tmp/hearth/run

Options:
  --socket PATH                  API socket (default /run/hearth/hearthd.sock)
  --state-dir DIR                persistent state (default /var/lib/hearth)
  --runtime-dir DIR              runtime files (default /run/hearth)
  --socket-group NAME            group given access to the socket when it exists (default hearth)
  --hypervisor auto|cloud-hypervisor|qemu   override the saved setting for this run
  --accel auto|kvm|tcg           override the saved QEMU accelerator for this run
  --heartbeat-seconds N          override the event-stream heartbeat interval for this run
  --readiness-interval-seconds N override how often the machine is re-checked for this run
  --log-level LEVEL              fatal|error|warn|info|debug|trace (default info)
  --vmm-user NAME                run VMM processes as this user (default: hearth-vmm when it exists)
  --git-user NAME                run access checks' git and ssh as this user (default: hearth-git when it exists)
  --host-root DIR                read machine facts below DIR instead of / (tests only)
  --cloud-hypervisor-binary PATH run PATH as Cloud Hypervisor (tests only: the contract double)
  --catalog-base-url URL         read catalog images from URL/<name>/ instead of the image sites
                                 (a local mirror, or tests; signatures are still checked)
  --test-catalog-keyring FILE    check catalog signatures against FILE, not the shipped keyrings (tests only)
  --test-crash-at POINT          kill hearthd at ${CRASH_POINTS.join('|')} (tests only)
  --test-provision-fail NAME     environment NAME's cloud-init gets a failing last step (tests only)
  --test-git-timeout-ms N        end an access check's git after N ms instead of 30 s (tests only)
  --test-api-limits K=N[,K=N]    lower the API limits (${Object.keys(DEFAULT_API_LIMITS).join(', ')}; tests only)
  -h, --help                     show this help

Installing an image (an administrator's command; never possible through the API):

  hearthd install-image --state-dir DIR --name NAME --kernel FILE --disk FILE
                        [--initrd FILE] [--cmdline TEXT] [--ready-marker TEXT]

Copies the kernel and initrd, converts the disk to a standalone qcow2 and writes a manifest under
DIR/images/NAME/. Environments get copy-on-write overlays of that disk. Every FILE must be a
regular file named by its real path (no symbolic links); the disk must be raw or qcow2, and a
qcow2 with a backing file or an external data file is refused: flatten it first, as its owner,
with qemu-img convert -O qcow2 IN OUT.

Building the local Debian image (as root, outside hearthd's sandbox: the installer runs it):

  hearthd build-image [--state-dir DIR] [--cache-dir DIR] [--name NAME] [--mirror URL]
                      [--security-mirror URL|none]

Bootstraps Debian 12 from the archive (default ${DEFAULT_MIRROR}) with the cloud kernel,
cloud-init, OpenSSH, Git and the Hearth agent, makes a disk of it and imports it as NAME (default
${DEFAULT_IMAGE_NAME}). Builds are cached by recipe in the cache directory (default
/var/cache/hearth/image-build): a second run only imports. Progress is printed as the installer's
::step/::progress/::result/::fail lines. The security archive is Debian's with the default
mirror; with another --mirror, none unless --security-mirror names one.

${INSTALL_CH_USAGE}`;

export interface InstallImageOptions extends ImageSource {
  stateDir: string;
}

export type CliResult =
  | { kind: 'run'; options: DaemonOptions; logLevel: string }
  | { kind: 'install-image'; options: InstallImageOptions }
  | { kind: 'build-image'; options: BuildImageOptions }
  | Extract<InstallChParse, { kind: 'install-cloud-hypervisor' }>
  | { kind: 'help' }
  | { kind: 'error'; message: string };

function parseInstallImage(argv: string[]): CliResult {
  const parsed = parseFlags(argv, {
    'state-dir': { type: 'string', default: '/var/lib/hearth' },
    name: { type: 'string' },
    kernel: { type: 'string' },
    initrd: { type: 'string' },
    disk: { type: 'string' },
    cmdline: { type: 'string', default: 'console=ttyS0' },
    'ready-marker': { type: 'string' },
  });
  if (parsed.kind !== 'flags') return parsed;
  const { values } = parsed;
  if (!values.name || !values.kernel || !values.disk)
    return { kind: 'error', message: 'install-image needs --name, --kernel and --disk' };
  return {
    kind: 'install-image',
    options: {
      stateDir: resolve(values['state-dir']),
      name: values.name,
      kernel: resolve(values.kernel),
      initrd: values.initrd === undefined ? undefined : resolve(values.initrd),
      disk: resolve(values.disk),
      cmdline: values.cmdline,
      readyMarker: values['ready-marker'],
    },
  };
}

function parseBuildImage(argv: string[]): CliResult {
  const parsed = parseFlags(argv, {
    'state-dir': { type: 'string', default: '/var/lib/hearth' },
    'cache-dir': { type: 'string', default: '/var/cache/hearth/image-build' },
    name: { type: 'string', default: DEFAULT_IMAGE_NAME },
    mirror: { type: 'string', default: DEFAULT_MIRROR },
    'security-mirror': { type: 'string' },
  });
  if (parsed.kind !== 'flags') return parsed;
  const { values } = parsed;
  const { name } = values;
  const badName = `--name ${name} is not an image name (lowercase letters, digits, dots and dashes)`;
  if (!Value.Check(ImageName, name)) return { kind: 'error', message: badName };
  // debootstrap and apt take the URL as one argument; anything but plain http(s) is refused.
  const url = /^https?:\/\/[A-Za-z0-9.-]+(:\d+)?(\/[A-Za-z0-9._~%/-]*)?$/;
  if (!url.test(values.mirror))
    return { kind: 'error', message: `--mirror must be an http:// or https:// URL of a Debian archive` };
  const mirror = values.mirror.replace(/\/+$/, '');
  const security = values['security-mirror'];
  if (security !== undefined && security !== 'none' && !url.test(security))
    return { kind: 'error', message: `--security-mirror must be an http:// or https:// URL, or none` };
  return {
    kind: 'build-image',
    options: {
      stateDir: resolve(values['state-dir']),
      cacheDir: resolve(values['cache-dir']),
      name,
      mirror,
      securityMirror:
        security === undefined
          ? defaultSecurityMirror(mirror)
          : security === 'none'
            ? null
            : security.replace(/\/+$/, ''),
    },
  };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const FlagSettings = Type.Partial(Settings);

export function parseCli(argv: string[]): CliResult {
  if (argv[0] === 'install-image') return parseInstallImage(argv.slice(1));
  if (argv[0] === 'build-image') return parseBuildImage(argv.slice(1));
  if (argv[0] === 'install-cloud-hypervisor') return parseInstallCloudHypervisor(argv.slice(1));
  const parsed = parseFlags(argv, {
    socket: { type: 'string', default: '/run/hearth/hearthd.sock' },
    'state-dir': { type: 'string', default: '/var/lib/hearth' },
    'runtime-dir': { type: 'string', default: '/run/hearth' },
    'socket-group': { type: 'string', default: 'hearth' },
    hypervisor: { type: 'string' },
    accel: { type: 'string' },
    'heartbeat-seconds': { type: 'string' },
    'readiness-interval-seconds': { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
    'host-root': { type: 'string', default: '/' },
    'vmm-user': { type: 'string' },
    'git-user': { type: 'string' },
    'cloud-hypervisor-binary': { type: 'string' },
    'catalog-base-url': { type: 'string' },
    'test-catalog-keyring': { type: 'string' },
    'test-crash-at': { type: 'string' },
    'test-api-limits': { type: 'string' },
    'test-git-timeout-ms': { type: 'string' },
    'test-provision-fail': { type: 'string' },
  });
  if (parsed.kind !== 'flags') return parsed;
  const { values } = parsed;
  if (!LOG_LEVELS.includes(values['log-level'])) {
    return { kind: 'error', message: `--log-level must be one of ${LOG_LEVELS.join(', ')}` };
  }

  const crashAt = values['test-crash-at'];
  if (crashAt !== undefined && !(CRASH_POINTS as readonly string[]).includes(crashAt)) {
    return { kind: 'error', message: `--test-crash-at must be one of ${CRASH_POINTS.join(', ')}` };
  }

  const catalogBaseUrl = values['catalog-base-url'];
  if (catalogBaseUrl !== undefined && !/^https?:\/\/[^/]/.test(catalogBaseUrl))
    return { kind: 'error', message: '--catalog-base-url must be an http:// or https:// URL' };

  const gitTimeout = values['test-git-timeout-ms'];
  if (gitTimeout !== undefined && !/^[1-9]\d{0,6}$/.test(gitTimeout))
    return { kind: 'error', message: '--test-git-timeout-ms must be a number of milliseconds' };

  const apiLimits = parseLimits(values['test-api-limits']);
  if (typeof apiLimits === 'string') return { kind: 'error', message: apiLimits };

  const settingsFlags = Object.fromEntries(
    Object.entries({
      hypervisor: values.hypervisor,
      accel: values.accel,
      heartbeatSeconds: values['heartbeat-seconds'] === undefined ? undefined : Number(values['heartbeat-seconds']),
      readinessIntervalSeconds:
        values['readiness-interval-seconds'] === undefined ? undefined : Number(values['readiness-interval-seconds']),
    }).filter(([, v]) => v !== undefined),
  );
  if (!Value.Check(FlagSettings, settingsFlags)) {
    const problems = [...Value.Errors(FlagSettings, settingsFlags)].map((e) => `${e.path.slice(1)} ${e.message}`);
    return { kind: 'error', message: `invalid setting flag: ${problems.join('; ')}` };
  }

  return {
    kind: 'run',
    logLevel: values['log-level'],
    options: {
      socket: resolve(values.socket),
      stateDir: resolve(values['state-dir']),
      runtimeDir: resolve(values['runtime-dir']),
      hostRoot: resolve(values['host-root']),
      socketGroup: values['socket-group'],
      settingsFlags,
      vmmUser: values['vmm-user'],
      gitUser: values['git-user'],
      gitCheckTimeoutMs: gitTimeout === undefined ? undefined : Number(gitTimeout),
      cloudHypervisorBinary:
        values['cloud-hypervisor-binary'] === undefined ? undefined : resolve(values['cloud-hypervisor-binary']),
      crashAt: crashAt as CrashPoint | undefined,
      catalogBaseUrl,
      catalogKeyring:
        values['test-catalog-keyring'] === undefined ? undefined : resolve(values['test-catalog-keyring']),
      testProvisionFail: values['test-provision-fail'],
      apiLimits,
    },
  };
}

/** `connections=4,streamsPerUid=2` → limits; a string is what is wrong with it. */
function parseLimits(text: string | undefined): ApiLimits | string {
  const limits = { ...DEFAULT_API_LIMITS };
  for (const pair of text ? text.split(',') : []) {
    const [key = '', value = ''] = pair.split('=');
    if (!(key in limits) || !/^[1-9]\d*$/.test(value))
      return `--test-api-limits: "${pair}" is not KEY=N with KEY one of ${Object.keys(limits).join(', ')}`;
    limits[key as keyof ApiLimits] = Number(value);
  }
  return limits;
}
