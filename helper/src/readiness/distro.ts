import type { Distro, PackageManager } from '#protocol';
import type { HostRoot } from '../system/host-root.js';

/** Parses os-release(5): KEY=value lines, values optionally quoted. */
export function parseOsRelease(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, key, raw] = match as unknown as [string, string, string];
    fields[key] = raw.replace(/^(["'])(.*)\1$/, '$2').replace(/\\(.)/g, '$1');
  }
  return fields;
}

const managerByFamily: ReadonlyArray<[string, PackageManager]> = [
  ['debian', 'apt'],
  ['ubuntu', 'apt'],
  ['fedora', 'dnf'],
  ['rhel', 'dnf'],
  ['centos', 'dnf'],
  ['arch', 'pacman'],
  ['suse', 'zypper'],
  ['opensuse', 'zypper'],
];

export function packageManagerFor(id: string, idLike: string[]): PackageManager {
  for (const candidate of [id, ...idLike]) {
    const hit = managerByFamily.find(([family]) => candidate === family || candidate.startsWith(`${family}-`));
    if (hit) return hit[1];
  }
  return 'unknown';
}

export async function detectDistro(host: HostRoot): Promise<Distro> {
  const text = (await host.readText('/etc/os-release')) ?? (await host.readText('/usr/lib/os-release'));
  if (text === undefined) return { id: 'unknown', name: 'Unknown Linux', packageManager: 'unknown' };
  const fields = parseOsRelease(text);
  const id = fields.ID ?? 'linux';
  const idLike = (fields.ID_LIKE ?? '').split(/\s+/).filter(Boolean);
  const version = fields.VERSION_ID;
  return {
    id,
    name: fields.PRETTY_NAME ?? fields.NAME ?? id,
    ...(version === undefined ? {} : { version }),
    packageManager: packageManagerFor(id, idLike),
  };
}
