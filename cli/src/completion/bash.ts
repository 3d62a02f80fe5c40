import type { CommandSpec } from './spec.js';
import { allFlags, argumentTokens, key, quote, lookupFunctions, valuedFlags } from './tables.js';

/** One `case` arm per command: its verbs, flags, the flags that take a value, and its arguments. */
function commandArms(rows: readonly CommandSpec[]): string {
  return rows
    .map((row) => {
      const words = (list: readonly string[]) => quote(list.join(' '));
      const fields = [
        `subs=${words(row.verbs.map((v) => v.word))}`,
        `flags=${words(allFlags(row).map((f) => f.word))}`,
        `valued=${words(valuedFlags(row).map(([flag]) => flag))}`,
        `args=${words(argumentTokens(row))}`,
      ];
      return `  ${quote(key(row.path))}) ${fields.join(' ')} ;;`;
    })
    .join('\n');
}

/**
 * The bash script: verbs and flags from the tables in the script itself (no process runs for
 * them); names from `hearth __complete <kind>`, with the --socket given on the line.
 */
export function bashScript(rows: readonly CommandSpec[], version: string): string {
  return `# bash completion for hearth ${version}: hearth completion bash > ~/.local/share/bash-completion/completions/hearth
# Generated from the command's own definitions: regenerate it after an upgrade rather than edit it.

__hearth_command() {
  case $1 in
${commandArms(rows)}
  *) subs='' flags='' valued='' args='' ;;
  esac
}

${lookupFunctions(rows)}

# Names from hearthd, through the hearth being completed; nothing (and no message) when it is not there.
__hearth_names() {
  local hearth=\${COMP_WORDS[0]}
  [[ $hearth == '~/'* ]] && hearth=$HOME/\${hearth#'~/'}
  "$hearth" "\${socket[@]}" __complete "$1" 2>/dev/null
}

_hearth() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmdpath='' subs flags valued args REPLY
  local word expect='' rest='' npos=0 i token
  local -a socket=() tokens=()
  __hearth_command ''
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=\${COMP_WORDS[i]}
    if [[ -n $expect ]]; then
      # "--flag=value" reaches here as "--flag" "=" "value" when = breaks words.
      [[ $word == = ]] && continue
      [[ $expect == --socket ]] && socket=(--socket "$word")
      expect=''
    elif [[ -n $rest ]]; then
      ((npos++))
    elif [[ $word == -- ]]; then
      rest=1
    elif [[ $word == -?* ]]; then
      if [[ $word == --socket=* ]]; then
        socket=(--socket "\${word#--socket=}")
      elif [[ $word != *=* && " $valued " == *" $word "* ]]; then
        expect=$word
      fi
    elif ((npos == 0)) && [[ -n $subs ]] && __hearth_verb "$cmdpath" "$word"; then
      cmdpath=$REPLY
      __hearth_command "$cmdpath"
    else
      ((npos++))
    fi
  done
  if [[ -n $expect ]]; then
    [[ $cur == = ]] && return 0
    __hearth_value "$cmdpath" "$expect"
    token=$REPLY
  elif [[ -z $rest && $cur == -* ]]; then
    token="=$flags"
  elif ((npos == 0)) && [[ -n $subs ]]; then
    token="=$subs"
  else
    read -ra tokens <<<"$args"
    if ((npos < \${#tokens[@]})); then
      token=\${tokens[npos]}
    elif ((\${#tokens[@]} > 0)) && [[ \${tokens[-1]} == *... ]]; then
      token=\${tokens[-1]}
    else
      token=-
    fi
    token=\${token%...}
  fi
  case $token in
  @files)
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    ;;
  @*) mapfile -t COMPREPLY < <(compgen -W "$(__hearth_names "\${token#@}")" -- "$cur") ;;
  =*)
    token=\${token#=}
    mapfile -t COMPREPLY < <(compgen -W "\${token//,/ }" -- "$cur")
    ;;
  *) COMPREPLY=() ;;
  esac
}

complete -F _hearth hearth
`;
}
