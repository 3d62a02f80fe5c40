import { CommanderError } from '@commander-js/extra-typings';
import { ExitCode } from './exit-codes.js';
import { buildProgram } from './program.js';

/**
 * `hearth`, the command line. One bundled file (dist/cli/hearth.mjs) on the Node runtime the
 * packages ship for hearthd; it talks to hearthd through the same typed client as the app.
 */
async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    // --help and --version end through here too, successfully; anything else was a usage error.
    const done =
      error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help';
    process.exitCode = done ? ExitCode.ok : ExitCode.usage;
  }
}

// `hearth ls | head`: the reader has what it wanted; a closed pipe is not an error to report.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(ExitCode.ok);
    throw error;
  });
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`hearth: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = ExitCode.failed;
});
