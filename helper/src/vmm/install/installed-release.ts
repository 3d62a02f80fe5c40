import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { verifyExecutable } from '../../system/executables.js';
import { HostRoot } from '../../system/host-root.js';
import { readTail } from '../../system/safe-read.js';
import {
  BINARY_FILE,
  FIRMWARE_FILE,
  MANIFEST_FILE,
  PINNED_RELEASE,
  ReleaseManifest,
  releaseDir,
  type ReleasePin,
} from './release.js';

export interface InstalledRelease {
  dir: string;
  /** The VMM, its real path checked by executables.ts's rules (root's all the way, nobody else's to write). */
  binary: string;
  firmware: string;
  manifest: ReleaseManifest;
}

const MAX_MANIFEST_BYTES = 16 * 1024;

/**
 * The pinned release as `hearthd install-cloud-hypervisor` left it, or undefined when it is not
 * (completely) there. The binary must pass `verifyExecutable` (so a release below a directory
 * another user could change is refused like any other binary); with `checkDigests`, both files
 * are hashed and compared with the pin (the installer's idempotence check; the registry, on
 * every VM start, relies on the ownership rules instead of hashing 11 MB).
 */
export async function readInstalledRelease(
  stateDir: string,
  pin: ReleasePin = PINNED_RELEASE,
  { checkDigests = true }: { checkDigests?: boolean } = {},
): Promise<InstalledRelease | undefined> {
  const dir = releaseDir(stateDir, pin.version);
  const tail = await readTail(join(dir, MANIFEST_FILE), MAX_MANIFEST_BYTES).catch(() => undefined);
  if (!tail || tail.size > MAX_MANIFEST_BYTES) return undefined;
  let manifest: unknown;
  try {
    manifest = JSON.parse(tail.text);
  } catch {
    return undefined;
  }
  if (!Value.Check(ReleaseManifest, manifest) || manifest.version !== pin.version) return undefined;
  if (manifest.binary.sha256 !== pin.binary.sha256 || manifest.firmware.sha256 !== pin.firmware.sha256)
    return undefined;
  const checked = await verifyExecutable(new HostRoot('/'), join(dir, BINARY_FILE)).catch(() => undefined);
  if (!checked) return undefined;
  const firmware = join(dir, FIRMWARE_FILE);
  if (checkDigests) {
    const [binaryDigest, firmwareDigest] = await Promise.all([sha256File(checked.hostPath), sha256File(firmware)]);
    if (binaryDigest !== pin.binary.sha256 || firmwareDigest !== pin.firmware.sha256) return undefined;
  } else if (
    !(await lstat(firmware).then(
      (s) => s.isFile() && s.uid === 0 && (s.mode & 0o022) === 0,
      () => false,
    ))
  ) {
    return undefined;
  }
  return { dir, binary: checked.hostPath, firmware, manifest };
}

function sha256File(path: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', () => resolve(undefined));
  });
}
