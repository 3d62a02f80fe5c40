/**
 * CH's `key=value,key=value` option syntax (its `option_parser` crate), used by `--api-socket`,
 * `--event-monitor`, `--serial`, `--disk`, … and by the double's own HEARTH_CH_DOUBLE_GUEST.
 * Commas inside `[...]` or double quotes do not split, as in CH.
 */

export class OptionParseError extends Error {}

export function splitOptions(input: string): string[] {
  const parts: string[] = [];
  let current = '';
  let depth = 0;
  let quoted = false;
  for (const ch of input) {
    if (ch === '"') quoted = !quoted;
    else if (ch === '[' && !quoted) depth++;
    else if (ch === ']' && !quoted) depth = Math.max(0, depth - 1);
    if (ch === ',' && depth === 0 && !quoted) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.filter((p) => p !== '');
}

/** Parses `input` allowing only `known` keys; an unknown key or a bare word is an error, as in CH. */
export function parseOptions(input: string, known: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of splitOptions(input)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new OptionParseError(`invalid syntax: ${part}`);
    const key = part.slice(0, eq);
    if (!known.includes(key)) throw new OptionParseError(`unknown option: ${key}`);
    out.set(key, part.slice(eq + 1).replace(/^"(.*)"$/, '$1'));
  }
  return out;
}

/** CH's `Toggle`: on/off, true/false, yes/no style switches. */
export function parseToggle(value: string, key: string): boolean {
  const v = value.toLowerCase();
  if (['on', 'true', 'yes', ''].includes(v)) return true;
  if (['off', 'false', 'no'].includes(v)) return false;
  throw new OptionParseError(`invalid value for ${key}: ${value}`);
}

export function parseInteger(value: string, key: string): number {
  if (!/^\d+$/.test(value)) throw new OptionParseError(`invalid value for ${key}: ${value}`);
  return Number(value);
}

/** CH's `ByteSized`: a byte count with an optional K/M/G suffix (powers of 1024). */
export function parseByteSize(value: string, key: string): number {
  const m = /^(\d+)([KMG]?)$/.exec(value);
  if (m === null) throw new OptionParseError(`invalid value for ${key}: ${value}`);
  const shift = { '': 0, K: 10, M: 20, G: 30 }[m[2] as '' | 'K' | 'M' | 'G'];
  return Number(m[1]) * 2 ** shift;
}
