import { API_REVISION, type CliVersionReport, type VersionInfo } from '#protocol';
import { HearthdUnreachableError } from '#protocol/client';
import type { CliContext } from '../context.js';
import { describeFailure } from '../failure.js';
import { version } from '../../../package.json';

export const CLI_VERSION: string = version;

/**
 * The client's version always prints, hearthd's when it answers: "which version do I have" must
 * not need a running helper, but a helper that cannot be reached still makes the exit code 4.
 */
export async function showVersion(context: CliContext): Promise<number> {
  const { terminal } = context;
  let hearthd: VersionInfo | null = null;
  let unreachable: unknown;
  try {
    hearthd = await context.client.call('getVersion');
  } catch (error) {
    if (!(error instanceof HearthdUnreachableError)) throw error;
    unreachable = error;
  }
  const report: CliVersionReport = { client: { version: CLI_VERSION, apiRevision: API_REVISION }, hearthd };
  if (terminal.json) terminal.data(report);
  else {
    terminal.out(`hearth   ${CLI_VERSION} (API v1 revision ${API_REVISION})`);
    if (hearthd !== null) {
      terminal.out(`hearthd  ${hearthd.hearthd} (API ${hearthd.api} revision ${hearthd.apiRevision})`);
      for (const vmm of hearthd.vmms) terminal.out(`${vmm.kind.padEnd(8)} ${vmm.version}`);
    }
  }
  if (unreachable === undefined) {
    if (hearthd !== null && hearthd.apiRevision < API_REVISION)
      terminal.say(
        `hearthd speaks an older revision of the API (${hearthd.apiRevision}): some commands may be refused.`,
      );
    return 0;
  }
  const failure = await describeFailure(unreachable);
  terminal.say(`hearth: ${failure.message}`);
  return failure.exitCode;
}
