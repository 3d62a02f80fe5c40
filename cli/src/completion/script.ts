import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { bashScript } from './bash.js';
import { fishScript } from './fish.js';
import type { Shell } from './shells.js';
import { describeProgram } from './spec.js';
import { zshScript } from './zsh.js';

/** The completion script for `shell`, generated from `program` as it is now. */
export function completionScript(shell: Shell, program: CommandUnknownOpts, version: string): string {
  const rows = describeProgram(program);
  switch (shell) {
    case 'bash':
      return bashScript(rows, version);
    case 'zsh':
      return zshScript(rows, version);
    case 'fish':
      return fishScript(rows, version);
  }
}
