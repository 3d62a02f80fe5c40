import type { Argument, CommandUnknownOpts, Option } from '@commander-js/extra-typings';
import { NAME_SOURCES, type NameSource } from './sources.js';

/** What a position on the command line completes to. */
export type Values =
  | { readonly kind: 'nothing' }
  | { readonly kind: 'words'; readonly words: readonly string[] }
  | { readonly kind: 'names'; readonly source: NameSource };

export interface Described {
  readonly word: string;
  readonly description: string;
}

/** A flag as the shell sees it: each spelling, and what its value completes to if it takes one. */
export interface FlagSpec {
  readonly spellings: readonly Described[];
  readonly value: Values | null;
}

export interface ArgumentSpec {
  readonly values: Values;
  readonly variadic: boolean;
}

/** One command of the program, its verbs, flags and arguments, as the completion scripts embed it. */
export interface CommandSpec {
  /** The verbs that lead to it from the program (`[]` for the program itself). */
  readonly path: readonly string[];
  /** Its sub-verbs, aliases included (an alias completes, and leads to the same command). */
  readonly verbs: readonly (Described & { readonly path: readonly string[] })[];
  /** Its own flags and the program's (accepted after any verb). */
  readonly flags: readonly FlagSpec[];
  readonly arguments: readonly ArgumentSpec[];
}

/** Words the scripts embed unquoted-safe: the generator refuses anything else rather than quote it. */
const PLAIN_WORD = /^[A-Za-z0-9][A-Za-z0-9._+/-]*$|^-{1,2}[A-Za-z0-9][A-Za-z0-9-]*$/;

function plain(word: string, what: string): string {
  if (!PLAIN_WORD.test(word)) throw new Error(`completion: ${what} ${JSON.stringify(word)} is not a plain word`);
  return word;
}

/** `<env...>`, `[env]` → `<env>`: the key NAME_SOURCES is read with. */
function placeholder(name: string): string {
  return `<${name.replace(/\.\.\.$/, '')}>`;
}

function valuesOf(path: readonly string[], name: string | undefined, choices: readonly string[] | undefined): Values {
  if (choices !== undefined) return { kind: 'words', words: choices.map((c) => plain(c, 'choice')) };
  if (name === undefined) return { kind: 'nothing' };
  const key = placeholder(name);
  const source = NAME_SOURCES[[...path, key].join(' ')] ?? NAME_SOURCES[key];
  return source === undefined ? { kind: 'nothing' } : { kind: 'names', source };
}

/** The placeholder in an option's flags (`--tail <lines>` → `lines`), if it takes a value. */
function valueName(option: Option): string | undefined {
  return /[<[]([^>\]]+)[>\]]/.exec(option.flags)?.[1];
}

function flagOf(path: readonly string[], option: Option): FlagSpec {
  const spellings = [option.short, option.long]
    .filter((s): s is string => s !== undefined)
    .map((word) => ({ word: plain(word, 'flag'), description: option.description }));
  const takesValue = option.required || option.optional;
  return { spellings, value: takesValue ? valuesOf(path, valueName(option), option.argChoices) : null };
}

function argumentOf(path: readonly string[], argument: Argument): ArgumentSpec {
  return { values: valuesOf(path, argument.name(), argument.argChoices), variadic: argument.variadic };
}

/** commander's implicit `help [command]` verb has no parent set: its argument is its siblings, the verbs. */
function argumentsOf(
  command: CommandUnknownOpts,
  path: readonly string[],
  siblings: readonly string[],
): ArgumentSpec[] {
  if (command.parent === null && path.length > 0) {
    const verbs = siblings.filter((name) => name !== command.name());
    return [{ values: { kind: 'words', words: verbs }, variadic: false }];
  }
  return command.registeredArguments.map((a) => argumentOf(path, a));
}

/**
 * The program as completion sees it, walked from commander's own definitions (what `--help`
 * shows: hidden verbs and flags are left out), so a verb or flag added later completes without a
 * change here. One row per command, the program first.
 */
export function describeProgram(program: CommandUnknownOpts): CommandSpec[] {
  const help = program.createHelp();
  // The program's options are accepted after any verb too (commander parses them anywhere).
  const globals = help.visibleOptions(program).filter((o) => o.long !== '--version' && o.long !== '--help');
  const rows: CommandSpec[] = [];
  const visit = (command: CommandUnknownOpts, path: readonly string[], siblings: readonly string[]) => {
    const children = help.visibleCommands(command);
    const verbs = children.flatMap((child) =>
      [child.name(), ...child.aliases()].map((word) => ({
        word: plain(word, 'verb'),
        description: child.description(),
        path: [...path, child.name()],
      })),
    );
    const own = help.visibleOptions(command);
    const flags = [...own, ...(command === program ? [] : globals)].map((o) => flagOf(path, o));
    rows.push({ path, verbs, flags, arguments: argumentsOf(command, path, siblings) });
    const names = children.map((child) => child.name());
    for (const child of children) visit(child, [...path, child.name()], names);
  };
  visit(program, [], []);
  return rows;
}
