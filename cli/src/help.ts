/** The parts of `--help` that are prose: examples under each verb, exit codes under the program. */

export function examples(lines: readonly string[]): string {
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}`;
}

export const EXIT_CODES_HELP = `
Exit codes:
  0    ok
  1    failed (hearthd refused, or the environment failed)
  2    usage (the command line was wrong)
  3    degraded (doctor: runs, with limitations)
  4    hearthd unreachable (not installed, stopped) or access denied
  130  interrupted by Ctrl-C (logs -f and stats --watch end with 0)

Environment:
  HEARTH_SOCKET  hearthd's socket, when --socket is not given
  NO_COLOR       no colours

Run "hearth <command> --help" for a command's flags and examples.`;
