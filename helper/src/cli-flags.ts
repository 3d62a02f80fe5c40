import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
const HELP = { help: { type: 'boolean', short: 'h', default: false } } as const;

/** What every hearthd command does with its flags: strict (unknown flags and operands are errors), -h is help. */
export type FlagsResult<O extends Options> =
  | {
      kind: 'flags';
      values: ReturnType<
        typeof parseArgs<{ args: string[]; strict: true; allowPositionals: false; options: O }>
      >['values'];
    }
  | { kind: 'help' }
  | { kind: 'error'; message: string };

export function parseFlags<const O extends Options>(argv: string[], options: O): FlagsResult<O> {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, allowPositionals: false, options: { ...options, ...HELP } }));
  } catch (error) {
    return { kind: 'error', message: (error as Error).message };
  }
  if (values.help === true) return { kind: 'help' };
  // parseArgs checked every value against `options`; its own type for them is that of `O`.
  return { kind: 'flags', values: values as FlagsResult<O> extends { values: infer V } ? V : never };
}
