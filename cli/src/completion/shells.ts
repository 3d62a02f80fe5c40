import { examples } from '../help.js';

/**
 * What `hearth completion` offers, loaded with every invocation (its --help): the generators
 * themselves are imported only when a script is printed.
 */
export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

export const COMPLETION_HELP = `
Install (then open a new shell):
  bash  hearth completion bash > ~/.local/share/bash-completion/completions/hearth
        (without the bash-completion package: add  source <(hearth completion bash)  to ~/.bashrc)
  zsh   hearth completion zsh > "\${fpath[1]}/_hearth"
        (or add  source <(hearth completion zsh)  to ~/.zshrc, after compinit)
  fish  hearth completion fish > ~/.config/fish/completions/hearth.fish

Verbs and flags complete from the script itself; environment, class and image names are asked
of hearthd (through this command, with the --socket on the line) and are left out when it is
not reachable.
${examples(['hearth completion bash > ~/.local/share/bash-completion/completions/hearth', 'source <(hearth completion zsh)'])}`;
