/**
 * Which names an argument or an option's value completes to, by its placeholder: `<env>`,
 * `<env...>` and `[env]` all read `<env>`, `--class <class>` reads `<class>`. A key may name the
 * verb too (`'images rm <name>'`) where a placeholder alone is ambiguous; that key wins.
 * A verb defined later completes its names by naming its arguments the same way: no completion
 * code changes. A placeholder not listed completes to nothing (free text such as `<name>`, `<url>`).
 */
export const NAME_SOURCES: Readonly<Record<string, NameSource>> = {
  '<env>': 'environments',
  '<class>': 'classes',
  '<image>': 'images',
  '<path>': 'files',
};

/** What hearth asks hearthd for (`hearth __complete <kind>`), and `files`, which the shell completes. */
export const NAME_KINDS = ['environments', 'classes', 'images', 'catalog'] as const;
export type NameKind = (typeof NAME_KINDS)[number];
export type NameSource = NameKind | 'files';
