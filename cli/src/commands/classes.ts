import type { ClassBody, EnvironmentClass } from '#protocol';
import { HearthdError } from '#protocol/client';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { formatBytes } from '../terminal/format.js';
import { renderTable } from '../terminal/table.js';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/**
 * A size on the command line: a whole number in the flag's own unit (MiB for memory, GiB for
 * disk), or with an explicit M/G suffix (`4G`, `512M`, `4GiB`). What is not a whole number of
 * the unit is refused rather than rounded.
 */
export function parseSize(value: string, unit: 'MiB' | 'GiB'): number {
  const match = /^(\d+)\s*(?:([MG])(?:i?B)?)?$/i.exec(value.trim());
  if (match === null) throw new Error(`${JSON.stringify(value)} is not a size (a whole number, or with M or G)`);
  const [, digits = '', suffix] = match;
  const bytes =
    Number(digits) * (suffix === undefined ? (unit === 'MiB' ? MIB : GIB) : suffix.toUpperCase() === 'G' ? GIB : MIB);
  const perUnit = unit === 'MiB' ? MIB : GIB;
  if (bytes % perUnit !== 0) throw new Error(`${JSON.stringify(value)} is not a whole number of ${unit}`);
  return bytes / perUnit;
}

function rows(classes: readonly EnvironmentClass[]): string[][] {
  return classes.map((c) => [
    c.name,
    String(c.cpus),
    formatBytes(c.memoryMiB * MIB),
    formatBytes(c.diskGiB * GIB),
    c.description,
  ]);
}

/** `hearth classes`: the classes environments are created with (CPUs, memory, disk). */
export async function listClasses(context: CliContext): Promise<ExitCode> {
  const { terminal } = context;
  const list = await context.client.call('listClasses');
  if (terminal.json) terminal.data(list);
  else if (list.classes.length === 0)
    terminal.say('No classes. An administrator adds one: hearth classes set <name> …');
  else terminal.out(renderTable(terminal, ['NAME', 'CPUS', 'MEMORY', 'DISK', 'DESCRIPTION'], rows(list.classes)));
  return ExitCode.ok;
}

export interface SetClassOptions {
  cpus?: number;
  memory?: number;
  disk?: number;
  description?: string;
}

/**
 * `hearth classes set`: creates a class or changes some of its figures (the others are kept).
 * hearthd decides who may (administrators) and what is allowed (its minimum memory, the host's
 * size); its refusal is printed as it comes, a member's 403 with exit 4.
 */
export async function setClass(context: CliContext, name: string, options: SetClassOptions): Promise<ExitCode> {
  const { terminal, client } = context;
  let current: EnvironmentClass | undefined;
  try {
    current = await client.call('getClass', { params: { name } });
  } catch (error) {
    if (!(error instanceof HearthdError && error.status === 404)) throw error;
  }
  const cpus = options.cpus ?? current?.cpus;
  const memoryMiB = options.memory ?? current?.memoryMiB;
  const diskGiB = options.disk ?? current?.diskGiB;
  if (cpus === undefined || memoryMiB === undefined || diskGiB === undefined)
    throw new CliError(`a new class needs --cpus, --memory and --disk`, ExitCode.usage);
  const description = options.description ?? current?.description;
  const body: ClassBody = { cpus, memoryMiB, diskGiB, ...(description !== undefined && { description }) };
  const saved = await client.call('putClass', { params: { name }, body });
  if (terminal.json) terminal.data(saved);
  else
    terminal.say(
      `${saved.name}: ${saved.cpus} CPU${saved.cpus === 1 ? '' : 's'}, ${formatBytes(saved.memoryMiB * MIB)} memory, ${formatBytes(saved.diskGiB * GIB)} disk (${current === undefined ? 'added' : 'changed'}; running environments keep what they started with)`,
    );
  return ExitCode.ok;
}

/** `hearth classes rm`: hearthd refuses while an environment uses the class. */
export async function removeClass(context: CliContext, name: string): Promise<ExitCode> {
  const { terminal } = context;
  const list = await context.client.call('deleteClass', { params: { name } });
  if (terminal.json) terminal.data(list);
  else terminal.say(`${name}: removed`);
  return ExitCode.ok;
}
