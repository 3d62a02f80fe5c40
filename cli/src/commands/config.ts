import type { TSchema } from '@sinclair/typebox';
import { Settings } from '#protocol';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';

type Key = keyof Settings;
const KEYS = Object.keys(Settings.properties) as Key[];

function keyOf(name: string): Key {
  if ((KEYS as string[]).includes(name)) return name as Key;
  throw new CliError(
    `there is no setting ${JSON.stringify(name)}; the settings are: ${KEYS.join(', ')}`,
    ExitCode.usage,
  );
}

/**
 * The command line's string as the type the schema gives the setting, as TypeBox's Value.Convert
 * would for the kinds Settings has (integers; strings and string choices stay as they are).
 * TypeBox's value module would add 150 KB to the bundle every invocation parses, for this one call.
 */
function convert(schema: TSchema, raw: string): unknown {
  if (schema.type !== 'integer' && schema.type !== 'number') return raw;
  const n = Number(raw.trim());
  return raw.trim() !== '' && Number.isFinite(n) ? n : raw;
}

/** `hearth config get [key]`: hearthd's settings, or one of them (--json: its value as the schema types it). */
export async function getConfig(context: CliContext, name: string | undefined): Promise<ExitCode> {
  const { terminal } = context;
  const key = name === undefined ? undefined : keyOf(name);
  const view = await context.client.call('getConfig');
  if (key !== undefined) {
    if (terminal.json) terminal.out(JSON.stringify(view.settings[key]));
    else terminal.out(String(view.settings[key]));
    return ExitCode.ok;
  }
  if (terminal.json) {
    terminal.data(view);
    return ExitCode.ok;
  }
  const width = Math.max(...KEYS.map((k) => k.length));
  for (const k of KEYS) {
    const fixed = view.overriddenByFlags.includes(k) ? '  (fixed by a hearthd flag for this run)' : '';
    terminal.out(`${k.padEnd(width)}  ${String(view.settings[k])}${fixed}`);
  }
  return ExitCode.ok;
}

/**
 * `hearth config set <key> <value>`: the value converted to the type the Settings schema gives
 * that key (`5` a number for maxEnvironments, `qemu` a string for hypervisor), then hearthd
 * validates the whole change (ranges, overlapping subnets, who may) and answers.
 */
export async function setConfig(context: CliContext, name: string, raw: string): Promise<ExitCode> {
  const { terminal } = context;
  const key = keyOf(name);
  const schema = Settings.properties[key];
  const value = convert(schema, raw);
  // Only the type is judged here (a word where a number belongs is a usage error); ranges and
  // choices are hearthd's to judge, so its own message, with its hint, is what the person reads.
  if (schema.type === 'integer' && !Number.isInteger(value))
    throw new CliError(`${key} takes a whole number, not ${JSON.stringify(raw)}`, ExitCode.usage, schema.description);
  const view = await context.client.call('updateConfig', { body: { [key]: value } });
  if (terminal.json) terminal.data(view);
  else {
    terminal.say(`${key} = ${String(view.settings[key])}`);
    if (view.overriddenByFlags.includes(key))
      terminal.say('  saved, but a hearthd flag fixes it for this run: it applies once hearthd runs without that flag');
  }
  return ExitCode.ok;
}
