import type { ConfigView, Settings } from '#protocol';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';

type Key = keyof Settings;

/**
 * The settings hearthd has, from its own answer: the keys and each one's type come from the
 * contract's document as hearthd sent it, not from the schemas, which the `hearth` bundle leaves
 * out (building them cost every invocation its start; bench/cli.ts).
 */
function keyOf(view: ConfigView, name: string): Key {
  const keys = Object.keys(view.settings);
  if (keys.includes(name)) return name as Key;
  throw new CliError(
    `there is no setting ${JSON.stringify(name)}; the settings are: ${keys.join(', ')}`,
    ExitCode.usage,
  );
}

/**
 * The command line's string as the type the setting has (a number for maxEnvironments, a word for
 * hypervisor). Only the type is judged here; ranges and choices are hearthd's to judge, so its own
 * message, with its hint, is what the person reads.
 */
function convert(key: Key, current: unknown, raw: string): unknown {
  if (typeof current === 'number') {
    const n = Number(raw.trim());
    if (raw.trim() === '' || !Number.isInteger(n))
      throw new CliError(`${key} takes a whole number, not ${JSON.stringify(raw)}`, ExitCode.usage);
    return n;
  }
  if (typeof current === 'boolean') {
    if (raw !== 'true' && raw !== 'false')
      throw new CliError(`${key} takes true or false, not ${JSON.stringify(raw)}`, ExitCode.usage);
    return raw === 'true';
  }
  return raw;
}

/** `hearth config get [key]`: hearthd's settings, or one of them (--json: its value as the schema types it). */
export async function getConfig(context: CliContext, name: string | undefined): Promise<ExitCode> {
  const { terminal } = context;
  const view = await context.client.call('getConfig');
  const key = name === undefined ? undefined : keyOf(view, name);
  if (key !== undefined) {
    if (terminal.json) terminal.out(JSON.stringify(view.settings[key]));
    else terminal.out(String(view.settings[key]));
    return ExitCode.ok;
  }
  if (terminal.json) {
    terminal.data(view);
    return ExitCode.ok;
  }
  const keys = Object.keys(view.settings) as Key[];
  const width = Math.max(...keys.map((k) => k.length));
  for (const k of keys) {
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
  const current = await context.client.call('getConfig');
  const key = keyOf(current, name);
  const value = convert(key, current.settings[key], raw);
  const view = await context.client.call('updateConfig', { body: { [key]: value } });
  if (terminal.json) terminal.data(view);
  else {
    terminal.say(`${key} = ${String(view.settings[key])}`);
    if (view.overriddenByFlags.includes(key))
      terminal.say('  saved, but a hearthd flag fixes it for this run: it applies once hearthd runs without that flag');
  }
  return ExitCode.ok;
}
