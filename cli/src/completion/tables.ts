import type { CommandSpec, Values } from './spec.js';

/**
 * The spec as the words each shell's script embeds. Every script holds the same tables and the
 * same small walker (in its own shell's syntax): a value is `-` (nothing to offer), `@kind` (names
 * from `hearth __complete kind`, or `@files`) or `=word,word` (fixed choices).
 */
export function valueToken(values: Values): string {
  switch (values.kind) {
    case 'nothing':
      return '-';
    case 'names':
      return `@${values.source}`;
    case 'words':
      return `=${values.words.join(',')}`;
  }
}

/** The arguments of a command, one token each; the last ends with `...` when it repeats. */
export function argumentTokens(command: CommandSpec): string[] {
  return command.arguments.map((a) => `${valueToken(a.values)}${a.variadic ? '...' : ''}`);
}

/** The flags that take a value, each spelling with its value's token. */
export function valuedFlags(command: CommandSpec): Array<[flag: string, token: string]> {
  return command.flags.flatMap((f) =>
    f.value === null ? [] : f.spellings.map((s): [string, string] => [s.word, valueToken(f.value!)]),
  );
}

export function allFlags(command: CommandSpec): Array<{ word: string; description: string }> {
  return command.flags.flatMap((f) => f.spellings);
}

/** A command's path as one key (`''` for the program, `images rm`). */
export function key(path: readonly string[]): string {
  return path.join(' ');
}

/** Single-quoted for bash, zsh and fish alike ('\'' closes, escapes and reopens in all three). */
export function quote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** The first line of a description, short enough for a completion menu. */
export function summary(description: string): string {
  const line = description.split('\n')[0] ?? '';
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}

/** Both shells' `case` syntax: `path/verb`  → the path of the command that verb (or alias) names. */
function verbArms(rows: readonly CommandSpec[]): string {
  return rows
    .flatMap((row) => row.verbs.map((v) => `  ${quote(`${key(row.path)}/${v.word}`)}) REPLY=${quote(key(v.path))} ;;`))
    .join('\n');
}

/** Both shells' `case` syntax: `path flag` → what the flag's value completes to. */
function valueArms(rows: readonly CommandSpec[]): string {
  return rows
    .flatMap((row) =>
      valuedFlags(row).map(([flag, token]) => `  ${quote(`${key(row.path)} ${flag}`)}) REPLY=${quote(token)} ;;`),
    )
    .join('\n');
}

/**
 * The two lookups bash and zsh share word for word: which command a verb leads to, and what a
 * flag's value completes to (their `case` syntax is the same in both shells).
 */
export function lookupFunctions(rows: readonly CommandSpec[]): string {
  return `__hearth_verb() {
  case $1/$2 in
${verbArms(rows)}
  *) return 1 ;;
  esac
}

__hearth_value() {
  case "$1 $2" in
${valueArms(rows)}
  *) REPLY=- ;;
  esac
}
`;
}
