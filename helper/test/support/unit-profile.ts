import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The installed unit file: the one source of hearthd's privileges in tests too. */
const REPO = join(import.meta.dirname, '..', '..', '..');
export const UNIT_FILE = join(import.meta.dirname, '..', '..', '..', 'assets', 'linux', 'hearthd.service');

export interface UnitProfile {
  /** Capability names as setpriv spells them (`net_admin`, …). */
  capabilities: string[];
  umask: number;
  noNewPrivileges: boolean;
  /** The options ExecStart gives node before hearthd.mjs (V8's memory flags, …). */
  nodeOptions: string[];
}

/** What the unit gives hearthd, read from the unit file so that tests and unit cannot drift apart. */
export function unitProfile(text = readFileSync(UNIT_FILE, 'utf8')): UnitProfile {
  const directive = (name: string) =>
    text
      .split('\n')
      .filter((line) => line.startsWith(`${name}=`))
      .map((line) => line.slice(name.length + 1).trim());
  const capabilities = directive('CapabilityBoundingSet')
    .flatMap((value) => value.split(/\s+/))
    .filter(Boolean)
    .map((cap) => cap.replace(/^CAP_/, '').toLowerCase());
  if (capabilities.length === 0) throw new Error(`${UNIT_FILE} has no CapabilityBoundingSet`);
  const execStart = directive('ExecStart')[0]?.split(/\s+/) ?? [];
  const script = execStart.findIndex((arg) => arg.endsWith('/hearthd.mjs'));
  if (script < 1) throw new Error(`${UNIT_FILE} has no ExecStart running hearthd.mjs`);
  return {
    nodeOptions: execStart.slice(1, script),
    capabilities,
    umask: parseInt(directive('UMask')[0] ?? '0022', 8),
    noNewPrivileges: directive('NoNewPrivileges')[0] === 'yes',
  };
}

/**
 * The command prefix that runs a program as the unit runs hearthd: root, with only the unit's
 * bounding set (so root without those capabilities, DAC_OVERRIDE included, is what runs) and no
 * new privileges. The caller sets the unit's umask around spawn (a child inherits it).
 */
export function asUnit(profile = unitProfile()): string[] {
  return [
    'setpriv',
    `--bounding-set=-all,${profile.capabilities.map((c) => `+${c}`).join(',')}`,
    `--inh-caps=-all`,
    ...(profile.noNewPrivileges ? ['--no-new-privs'] : []),
    '--',
  ];
}

/**
 * A TypeScript `script` run by this Node (tsx) inside network namespace `netns` with the unit's
 * privileges (`asUnit`) and umask: what the code it drives can do there is what hearthd can do
 * installed. stdio is piped.
 */
export function spawnAsUnitInNetns(
  netns: string,
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ChildProcessWithoutNullStreams {
  const profile = unitProfile();
  const umask = process.umask(profile.umask);
  try {
    return spawn(
      'ip',
      ['netns', 'exec', netns, ...asUnit(profile), process.execPath, '--import', 'tsx', script, ...args],
      { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'], env },
    );
  } finally {
    process.umask(umask);
  }
}
