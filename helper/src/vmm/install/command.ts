import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseFlags } from '../../cli-flags.js';
import { Value } from '@sinclair/typebox/value';
import { InstallError, installCloudHypervisor, lineReporter } from './installer.js';
import { PINNED_RELEASE, ReleasePin } from './release.js';

export const INSTALL_CH_USAGE = `Installing Cloud Hypervisor (an administrator's command; the setup wizard runs it):

  hearthd install-cloud-hypervisor [--state-dir DIR] [--base-url URL]

Downloads the pinned Cloud Hypervisor release (v${PINNED_RELEASE.version}, cloud-hypervisor-static) and its
firmware (CLOUDHV.fd from Debian's ${PINNED_RELEASE.firmwarePackage.package} ${PINNED_RELEASE.firmwarePackage.packageVersion}), verifies
both against the SHA-256 digests pinned in hearthd, and installs them root-owned into
DIR/vmm/cloud-hypervisor-${PINNED_RELEASE.version}/ (default DIR /var/lib/hearth). --base-url takes both files, by
name, from a mirror instead; the pinned digests still decide. Progress is printed as
::step/::progress/::result/::fail lines. --test-pin FILE replaces the pin (tests only).
`;

export interface InstallChOptions {
  stateDir: string;
  baseUrl: string | undefined;
  pin: ReleasePin;
}

export type InstallChParse =
  | { kind: 'install-cloud-hypervisor'; options: InstallChOptions; testPin: string | undefined }
  | { kind: 'help' }
  | { kind: 'error'; message: string };

export function parseInstallCloudHypervisor(argv: string[]): InstallChParse {
  const parsed = parseFlags(argv, {
    'state-dir': { type: 'string', default: '/var/lib/hearth' },
    'base-url': { type: 'string' },
    'test-pin': { type: 'string' },
  });
  if (parsed.kind !== 'flags') return parsed;
  const { values } = parsed;
  const baseUrl = values['base-url'];
  if (baseUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(baseUrl))
    return { kind: 'error', message: '--base-url must be an http or https URL' };
  return {
    kind: 'install-cloud-hypervisor',
    options: { stateDir: resolve(values['state-dir']), baseUrl, pin: PINNED_RELEASE },
    testPin: values['test-pin'] === undefined ? undefined : resolve(values['test-pin']),
  };
}

/** Runs the command; resolves to its exit code (0 installed or already there, 1 failed, 64 bad pin file). */
export async function runInstallCloudHypervisor(
  options: InstallChOptions,
  testPin: string | undefined,
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<number> {
  let pin = options.pin;
  if (testPin !== undefined) {
    const parsed: unknown = JSON.parse(await readFile(testPin, 'utf8'));
    if (!Value.Check(ReleasePin, parsed)) {
      const why = [...Value.Errors(ReleasePin, parsed)].map((e) => `${e.path} ${e.message}`).slice(0, 3);
      write(`::fail download the --test-pin file is not a release pin: ${why.join('; ')}`);
      return 64;
    }
    pin = parsed;
  }
  const report = lineReporter(write);
  try {
    await installCloudHypervisor({ stateDir: options.stateDir, baseUrl: options.baseUrl, pin, report });
    return 0;
  } catch (error) {
    report.fail(error instanceof InstallError ? error.step : 'install-vmm', (error as Error).message);
    return 1;
  }
}
