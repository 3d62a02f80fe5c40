import { join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';

/**
 * The one Cloud Hypervisor release hearthd installs, pinned here: never "latest", never looked up
 * at run time. Changing it is a code change, reviewed like any other.
 *
 * - The VMM: `cloud-hypervisor-static` of v53.0, the version whose API the driver is held to
 *   (helper/test/doubles/cloud-hypervisor/cloud-hypervisor-api.yaml). Cloud Hypervisor publishes no
 *   checksum files; GitHub's release API gives each asset a SHA-256 `digest`. GitHub cannot be
 *   reached from where this was written, so the digest and size below are the ones several
 *   independent projects recorded for this asset (they agree); `hearthd install-cloud-hypervisor`
 *   refuses any other bytes, so a wrong pin fails closed: nothing is installed.
 * - Its firmware: `CLOUDHV.fd`, from Debian's own build, the `cloudhv-efi-x86-64` package (source
 *   edk2; in sid only: bookworm's and trixie's `ovmf` have no Cloud Hypervisor build). The .deb's
 *   digest is the one Debian's signed archive index lists for it (verified with apt here); the
 *   firmware file's digest inside it is pinned too. Debian's pool drops superseded versions, so
 *   snapshot.debian.org's content-addressed copy (by the .deb's SHA-1) is the second source.
 */
const pinnedFileFields = {
  /** Where it is fetched from, in order (a mirror given with --base-url replaces them). */
  urls: Type.Array(Type.String({ pattern: '^https?://' }), { minItems: 1 }),
  /** The file name a mirror serves it under. */
  name: Type.String({ pattern: '^[A-Za-z0-9._+-]+$' }),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  size: Type.Integer({ minimum: 1, maximum: 256 * 1024 * 1024 }),
};
export const PinnedFile = Type.Object(pinnedFileFields, { additionalProperties: false });
export type PinnedFile = Static<typeof PinnedFile>;

export const ReleasePin = Type.Object(
  {
    version: Type.String({ pattern: '^\\d+\\.\\d+(\\.\\d+)?$' }),
    binary: PinnedFile,
    firmwarePackage: Type.Object(
      { ...pinnedFileFields, package: Type.String(), packageVersion: Type.String() },
      { additionalProperties: false },
    ),
    /** CLOUDHV.fd inside the package: its path in data.tar, digest and size. */
    firmware: Type.Object(
      {
        member: Type.String({ pattern: '^\\./[A-Za-z0-9._/+-]+$' }),
        sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
        size: Type.Integer({ minimum: 1, maximum: 64 * 1024 * 1024 }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type ReleasePin = Static<typeof ReleasePin>;

const DEB = 'cloudhv-efi-x86-64_2026.08+ds-2_all.deb';

export const PINNED_RELEASE: ReleasePin = {
  version: '53.0',
  binary: {
    urls: ['https://github.com/cloud-hypervisor/cloud-hypervisor/releases/download/v53.0/cloud-hypervisor-static'],
    name: 'cloud-hypervisor-static',
    sha256: '448af3d4e59b22c2987f7df94c213ad40fb53a10d437e42b5ee6c4fce7c29ecc',
    size: 7_062_256,
  },
  firmwarePackage: {
    urls: [
      `https://deb.debian.org/debian/pool/main/e/edk2/${DEB}`,
      'https://snapshot.debian.org/file/260dde0a89996232b0d15c3f17d5bc97b7ddbb09',
    ],
    name: DEB,
    sha256: '805d161032f6f7f5f31e92ef18b5bdabdff3002d0d9d8747229680ea5af24a96',
    size: 1_001_532,
    package: 'cloudhv-efi-x86-64',
    packageVersion: '2026.08+ds-2',
  },
  firmware: {
    member: './usr/share/cloudhv-efi-x86-64/CLOUDHV.fd',
    sha256: 'b2dca333239dfa8bcf290e9524fc13cdc1651af7a5f43a79a13c55071c8b075b',
    size: 4_194_304,
  },
};

/** `<state>/vmm/`: hearthd's installed VMMs (root 0755), never hearthd's own code directory. */
export function vmmRoot(stateDir: string): string {
  return join(stateDir, 'vmm');
}

/** `<state>/vmm/cloud-hypervisor-<version>/`: the binary, CLOUDHV.fd and manifest.json. */
export function releaseDir(stateDir: string, version: string): string {
  return join(vmmRoot(stateDir), `cloud-hypervisor-${version}`);
}

export const BINARY_FILE = 'cloud-hypervisor';
export const FIRMWARE_FILE = 'CLOUDHV.fd';
export const MANIFEST_FILE = 'manifest.json';

/** What was installed, recorded beside it. */
export const ReleaseManifest = Type.Object(
  {
    version: Type.String(),
    installedAt: Type.String(),
    binary: Type.Object({ file: Type.String(), sha256: Type.String(), size: Type.Integer(), url: Type.String() }),
    firmware: Type.Object({
      file: Type.String(),
      sha256: Type.String(),
      size: Type.Integer(),
      package: Type.String(),
      packageVersion: Type.String(),
      packageSha256: Type.String(),
      url: Type.String(),
    }),
  },
  { additionalProperties: false },
);
export type ReleaseManifest = Static<typeof ReleaseManifest>;
