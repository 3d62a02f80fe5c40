import type { CommandSpec } from './spec.js';
import { allFlags, argumentTokens, key, quote, summary, lookupFunctions, valuedFlags } from './tables.js';

/** `word:description`, as _describe lists it (the words are plain: no colon to escape). */
function described(items: ReadonlyArray<{ word: string; description: string }>): string {
  return `(${items.map((i) => quote(`${i.word}:${summary(i.description)}`)).join(' ')})`;
}

function commandArms(rows: readonly CommandSpec[]): string {
  return rows
    .map((row) => {
      const fields = [
        `subs=${described(row.verbs)}`,
        `flags=${described(allFlags(row))}`,
        `valued=(${valuedFlags(row)
          .map(([flag]) => flag)
          .join(' ')})`,
        `args=(${argumentTokens(row).map(quote).join(' ')})`,
      ];
      return `  ${quote(key(row.path))}) ${fields.join(' ')} ;;`;
    })
    .join('\n');
}

/** The zsh script: the same tables and walker as bash's, with descriptions through _describe. */
export function zshScript(rows: readonly CommandSpec[], version: string): string {
  return `#compdef hearth
# zsh completion for hearth ${version}: hearth completion zsh > "\${fpath[1]}/_hearth" (then start a new shell)
# Generated from the command's own definitions: regenerate it after an upgrade rather than edit it.

__hearth_command() {
  case $1 in
${commandArms(rows)}
  *) subs=() flags=() valued=() args=() ;;
  esac
}

${lookupFunctions(rows)}

__hearth_names() {
  local hearth=\${words[1]/#\\~/$HOME}
  $hearth $socket __complete $1 2>/dev/null
}

_hearth() {
  local cmdpath='' REPLY word expect='' rest='' token cur=\${words[CURRENT]}
  local -i npos=0 i
  local -a subs flags valued args socket tokens names
  __hearth_command ''
  for ((i = 2; i < CURRENT; i++)); do
    word=\${words[i]}
    if [[ -n $expect ]]; then
      [[ $expect == --socket ]] && socket=(--socket $word)
      expect=''
    elif [[ -n $rest ]]; then
      npos+=1
    elif [[ $word == -- ]]; then
      rest=1
    elif [[ $word == -?* ]]; then
      if [[ $word == --socket=* ]]; then
        socket=(--socket \${word#--socket=})
      elif [[ $word != *=* ]] && (( \${valued[(Ie)$word]} )); then
        expect=$word
      fi
    elif (( npos == 0 && $#subs )) && __hearth_verb "$cmdpath" "$word"; then
      cmdpath=$REPLY
      __hearth_command "$cmdpath"
    else
      npos+=1
    fi
  done
  if [[ -n $expect ]]; then
    __hearth_value "$cmdpath" "$expect"
    token=$REPLY
  elif [[ -z $rest && $cur == -* ]]; then
    _describe -t flags flag flags
    return
  elif (( npos == 0 && $#subs )); then
    _describe -t commands command subs
    return
  else
    tokens=($args)
    if (( npos < $#tokens )); then
      token=\${tokens[npos + 1]}
    elif (( $#tokens )) && [[ \${tokens[-1]} == *... ]]; then
      token=\${tokens[-1]}
    else
      token=-
    fi
    token=\${token%...}
  fi
  case $token in
  '@files') _files ;;
  '@'*)
    names=(\${(f)"$(__hearth_names \${token#@})"})
    compadd -a names
    ;;
  '='*)
    names=(\${(s:,:)\${token#=}})
    compadd -a names
    ;;
  esac
}

if [[ $funcstack[1] == _hearth ]]; then
  # Loaded from fpath on the first <TAB>: this run completes it.
  _hearth "$@"
elif (( $+functions[compdef] )); then
  compdef _hearth hearth
fi
`;
}
