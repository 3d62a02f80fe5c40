import type { CommandSpec } from './spec.js';
import { allFlags, argumentTokens, key, quote, summary, valuedFlags } from './tables.js';

/** `word description word description …`: printf '%s\t%s\n' prints them as fish's candidates. */
function pairs(items: ReadonlyArray<{ word: string; description: string }>): string {
  return items.map((i) => `${i.word} ${quote(summary(i.description))}`).join(' ');
}

function commandCases(rows: readonly CommandSpec[]): string {
  return rows
    .map((row) =>
      [
        `    case ${quote(key(row.path))}`,
        `        set -g __hearth_subs ${row.verbs.map((v) => v.word).join(' ')}`,
        `        set -g __hearth_subs_described ${pairs(row.verbs)}`,
        `        set -g __hearth_flags_described ${pairs(allFlags(row))}`,
        `        set -g __hearth_valued ${valuedFlags(row)
          .map(([flag]) => flag)
          .join(' ')}`,
        `        set -g __hearth_args ${argumentTokens(row).map(quote).join(' ')}`,
      ].join('\n'),
    )
    .join('\n');
}

function verbCases(rows: readonly CommandSpec[]): string {
  return rows
    .flatMap((row) =>
      row.verbs.map((v) => `    case ${quote(`${key(row.path)}/${v.word}`)}\n        echo ${quote(key(v.path))}`),
    )
    .join('\n');
}

function valueCases(rows: readonly CommandSpec[]): string {
  return rows
    .flatMap((row) =>
      valuedFlags(row).map(
        ([flag, token]) => `    case ${quote(`${key(row.path)} ${flag}`)}\n        echo ${quote(token)}`,
      ),
    )
    .join('\n');
}

/** The fish script: the same tables and walker, as one function fish asks for candidates. */
export function fishScript(rows: readonly CommandSpec[], version: string): string {
  return `# fish completion for hearth ${version}: hearth completion fish > ~/.config/fish/completions/hearth.fish
# Generated from the command's own definitions: regenerate it after an upgrade rather than edit it.

function __hearth_command
    switch $argv[1]
${commandCases(rows)}
    case '*'
        set -g __hearth_subs
        set -g __hearth_subs_described
        set -g __hearth_flags_described
        set -g __hearth_valued
        set -g __hearth_args
    end
end

function __hearth_verb
    switch "$argv[1]/$argv[2]"
${verbCases(rows)}
    case '*'
        return 1
    end
end

function __hearth_value
    switch "$argv[1] $argv[2]"
${valueCases(rows)}
    case '*'
        echo -
    end
end

function __hearth_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -l cmdpath ''
    set -l expect ''
    set -l rest ''
    set -l npos 0
    set -l socket
    set -l next
    __hearth_command ''
    for word in $tokens[2..-1]
        if test -n "$expect"
            test "$expect" = --socket; and set socket --socket $word
            set expect ''
        else if test -n "$rest"
            set npos (math $npos + 1)
        else if test "$word" = --
            set rest 1
        else if string match -q -- '-?*' $word
            if string match -q -- '--socket=*' $word
                set socket --socket (string replace -- --socket= '' $word)
            else if not string match -q -- '*=*' $word; and contains -- $word $__hearth_valued
                set expect $word
            end
        else if test $npos -eq 0; and set -q __hearth_subs[1]; and set next (__hearth_verb "$cmdpath" $word)
            set cmdpath $next
            __hearth_command $cmdpath
        else
            set npos (math $npos + 1)
        end
    end
    set -l token -
    if test -n "$expect"
        set token (__hearth_value "$cmdpath" $expect)
    else if test -z "$rest"; and string match -q -- '-*' $cur
        printf '%s\\t%s\\n' $__hearth_flags_described
        return
    else if test $npos -eq 0; and set -q __hearth_subs[1]
        printf '%s\\t%s\\n' $__hearth_subs_described
        return
    else
        set -l args $__hearth_args
        set -l n (math $npos + 1)
        if test $n -le (count $args)
            set token $args[$n]
        else if set -q args[1]; and string match -q -- '*...' $args[-1]
            set token $args[-1]
        end
        set token (string replace -r -- '\\.\\.\\.$' '' $token)
    end
    switch $token
    case @files
        __fish_complete_path $cur
    case '@*'
        set -l hearth $tokens[1]
        $hearth $socket __complete (string sub -s 2 -- $token) 2>/dev/null
    case '=*'
        string split , -- (string sub -s 2 -- $token)
    end
end

complete -c hearth -f -a '(__hearth_complete)'
`;
}
