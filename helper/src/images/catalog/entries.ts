import type { ImageOs } from '#protocol';

/** How a site signs its checksum list: which list, which detached signature, which hash. */
export interface CatalogEntryDefinition {
  name: string;
  os: ImageOs;
  /** The directory holding the sums, their signature and the image (ends with '/'). */
  baseUrl: string;
  sumsFile: string;
  signatureFile: string;
  hash: 'sha256' | 'sha512';
  /** The file in that directory this entry installs; its checksum comes from the signed list. */
  imageFile: string;
  /** A file of assets/keyrings/ (see its README for provenance). */
  keyring: string;
}

/**
 * The images hearthd can download. Each directory always holds the current build: Ubuntu keeps
 * only recent serials, so nothing here names one — the signed checksum list says which bytes
 * the current file must be.
 */
export const CATALOG: readonly CatalogEntryDefinition[] = [
  {
    name: 'ubuntu-24.04',
    os: { id: 'ubuntu', version: '24.04', pretty: 'Ubuntu 24.04 LTS (Noble Numbat)' },
    baseUrl: 'https://cloud-images.ubuntu.com/releases/24.04/release/',
    sumsFile: 'SHA256SUMS',
    signatureFile: 'SHA256SUMS.gpg',
    hash: 'sha256',
    imageFile: 'ubuntu-24.04-server-cloudimg-amd64.img',
    keyring: 'ubuntu-cloudimage-keyring.gpg',
  },
  {
    name: 'debian-12',
    os: { id: 'debian', version: '12', pretty: 'Debian 12 (bookworm)' },
    baseUrl: 'https://cloud.debian.org/images/cloud/bookworm/latest/',
    sumsFile: 'SHA512SUMS',
    signatureFile: 'SHA512SUMS.sign',
    hash: 'sha512',
    imageFile: 'debian-12-genericcloud-amd64.qcow2',
    keyring: 'debian-cd-signing-keyring.gpg',
  },
];

/**
 * The entries with their directories moved below `mirror` (`<mirror>/<name>/`): for a local
 * mirror, and for tests, which serve a fake tree on loopback. Set only by a root flag.
 */
export function catalogAt(mirror: string | undefined): CatalogEntryDefinition[] {
  if (mirror === undefined) return [...CATALOG];
  const base = mirror.endsWith('/') ? mirror : `${mirror}/`;
  return CATALOG.map((entry) => ({ ...entry, baseUrl: new URL(`${entry.name}/`, base).href }));
}
