import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { Settings } from '#protocol';
import type { DaemonOptions } from './daemon/daemon.js';

export const USAGE = `Usage: hearthd [options]

Runs the Hearth helper daemon in the foreground. The installed service runs it as root with the
defaults; for development run it as yourself with your own paths:

  npm run hearthd -- --socket /tmp/hearth/hearthd.sock --state-dir /tmp/hearth/state --runtime-dir /tmp/hearth/run

Options:
  --socket PATH                  API socket (default /run/hearth/hearthd.sock)
  --state-dir DIR                persistent state (default /var/lib/hearth)
  --runtime-dir DIR              runtime files (default /run/hearth)
  --socket-group NAME            group given access to the socket when it exists (default hearth)
  --hypervisor auto|cloud-hypervisor|qemu   override the saved setting for this run
  --accel auto|kvm|tcg           override the saved QEMU accelerator for this run
  --heartbeat-seconds N          override the event-stream heartbeat interval for this run
  --readiness-interval-seconds N override how often the machine is re-checked for this run
  --log-level LEVEL              fatal|error|warn|info|debug|trace (default info)
  --host-root DIR                read machine facts below DIR instead of / (tests only)
  -h, --help                     show this help
`;

export type CliResult =
  { kind: 'run'; options: DaemonOptions; logLevel: string } | { kind: 'help' } | { kind: 'error'; message: string };

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const FlagSettings = Type.Partial(Settings);

export function parseCli(argv: string[]): CliResult {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        socket: { type: 'string', default: '/run/hearth/hearthd.sock' },
        'state-dir': { type: 'string', default: '/var/lib/hearth' },
        'runtime-dir': { type: 'string', default: '/run/hearth' },
        'socket-group': { type: 'string', default: 'hearth' },
        hypervisor: { type: 'string' },
        accel: { type: 'string' },
        'heartbeat-seconds': { type: 'string' },
        'readiness-interval-seconds': { type: 'string' },
        'log-level': { type: 'string', default: 'info' },
        'host-root': { type: 'string', default: '/' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    return { kind: 'error', message: (error as Error).message };
  }
  if (values.help) return { kind: 'help' };
  if (!LOG_LEVELS.includes(values['log-level'])) {
    return { kind: 'error', message: `--log-level must be one of ${LOG_LEVELS.join(', ')}` };
  }

  const settingsFlags = Object.fromEntries(
    Object.entries({
      hypervisor: values.hypervisor,
      accel: values.accel,
      heartbeatSeconds: values['heartbeat-seconds'] === undefined ? undefined : Number(values['heartbeat-seconds']),
      readinessIntervalSeconds:
        values['readiness-interval-seconds'] === undefined ? undefined : Number(values['readiness-interval-seconds']),
    }).filter(([, v]) => v !== undefined),
  );
  if (!Value.Check(FlagSettings, settingsFlags)) {
    const problems = [...Value.Errors(FlagSettings, settingsFlags)].map((e) => `${e.path.slice(1)} ${e.message}`);
    return { kind: 'error', message: `invalid setting flag: ${problems.join('; ')}` };
  }

  return {
    kind: 'run',
    logLevel: values['log-level'],
    options: {
      socket: resolve(values.socket),
      stateDir: resolve(values['state-dir']),
      runtimeDir: resolve(values['runtime-dir']),
      hostRoot: resolve(values['host-root']),
      socketGroup: values['socket-group'],
      settingsFlags,
    },
  };
}
