import type { HostReport, ReadinessCheck } from '#protocol';
import type { CliContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';

const VERDICT_EXIT: Record<HostReport['verdict'], ExitCode> = {
  ready: ExitCode.ok,
  'not-ready': ExitCode.failed,
  degraded: ExitCode.degraded,
};

/** `hearth doctor`: hearthd's readiness report, check by check; the exit code is the verdict. */
export async function doctor(context: CliContext, options: { fresh?: boolean }): Promise<ExitCode> {
  const { terminal } = context;
  const report = await context.client.call('getHost', { query: { fresh: options.fresh ?? true } });
  if (terminal.json) {
    terminal.data(report);
    return VERDICT_EXIT[report.verdict];
  }
  const c = terminal.colors;
  const mark: Record<ReadinessCheck['status'], string> = {
    pass: c.green('✓'),
    warn: c.yellow('!'),
    fail: c.red('✗'),
  };
  const { name, version } = report.distro;
  const distro = version !== undefined && !name.includes(version) ? `${name} ${version}` : name;
  terminal.out(`${distro}, kernel ${report.kernel} (${report.arch})`);
  terminal.out();
  for (const check of report.checks) {
    terminal.out(`${mark[check.status]} ${check.title}: ${check.detail}`);
    if (check.remedy !== undefined && check.status !== 'pass') {
      terminal.out(`    ${check.remedy.summary}`);
      if (check.remedy.command !== undefined) terminal.out(`    $ ${c.cyan(check.remedy.command)}`);
    }
  }
  terminal.out();
  const verdict = { ready: c.green('ready'), degraded: c.yellow('degraded'), 'not-ready': c.red('not ready') }[
    report.verdict
  ];
  terminal.out(`${c.bold(verdict)}: ${report.reason}`);
  return VERDICT_EXIT[report.verdict];
}
