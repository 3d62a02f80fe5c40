import { OptionParseError, parseOptions } from './option-parser.js';
import { BIN_NAME, DOUBLE_BUILD_VERSION, DOUBLE_FEATURES, DOUBLE_NAME } from './version.js';

/**
 * CH v53's command line (cloud-hypervisor/src/main.rs, clap 4), as far as a driver can notice:
 * the same option names and arities, the same argument groups, clap's exit code 2 and message
 * shape for usage errors. Notably, the VM options (`--serial`, `--console`, `--cpus`, `--disk`, …)
 * form clap's "vm-config" group, which *requires* a payload (`--kernel` or `--firmware`): real CH
 * refuses `--api-socket … --serial file=…` without one. A VM created over the API takes its serial
 * and console settings from the vm.create body instead.
 */

type Group = 'vm-config' | 'vm-payload' | 'vmm-config' | 'logging' | 'none';
interface ArgSpec {
  takes: 0 | 1 | 'many';
  group: Group;
}

const ARGS: Record<string, ArgSpec> = {
  'api-socket': { takes: 1, group: 'vmm-config' },
  balloon: { takes: 1, group: 'vm-config' },
  cmdline: { takes: 1, group: 'vm-config' },
  console: { takes: 1, group: 'vm-config' },
  cpus: { takes: 1, group: 'vm-config' },
  'debug-console': { takes: 1, group: 'vm-config' },
  device: { takes: 'many', group: 'vm-config' },
  disk: { takes: 'many', group: 'vm-config' },
  'event-monitor': { takes: 1, group: 'vmm-config' },
  firmware: { takes: 1, group: 'vm-payload' },
  fs: { takes: 'many', group: 'vm-config' },
  'generic-vhost-user': { takes: 'many', group: 'vm-config' },
  initramfs: { takes: 1, group: 'vm-config' },
  kernel: { takes: 1, group: 'vm-payload' },
  landlock: { takes: 0, group: 'vm-config' },
  'landlock-rules': { takes: 'many', group: 'vm-config' },
  'log-file': { takes: 1, group: 'logging' },
  memory: { takes: 1, group: 'vm-config' },
  'memory-zone': { takes: 'many', group: 'vm-config' },
  net: { takes: 'many', group: 'vm-config' },
  'no-shutdown': { takes: 0, group: 'vmm-config' },
  numa: { takes: 'many', group: 'vm-config' },
  'pci-segment': { takes: 'many', group: 'vm-config' },
  platform: { takes: 1, group: 'vm-config' },
  pmem: { takes: 'many', group: 'vm-config' },
  pvpanic: { takes: 0, group: 'vm-config' },
  'rate-limit-group': { takes: 'many', group: 'vm-config' },
  restore: { takes: 1, group: 'vmm-config' },
  rng: { takes: 1, group: 'vm-config' },
  seccomp: { takes: 1, group: 'none' },
  serial: { takes: 1, group: 'vm-config' },
  tpm: { takes: 1, group: 'vm-config' },
  'user-device': { takes: 'many', group: 'vm-config' },
  vdpa: { takes: 'many', group: 'vm-config' },
  vsock: { takes: 1, group: 'vm-config' },
  watchdog: { takes: 0, group: 'vm-config' },
};

export type Endpoint = { path: string } | { fd: number };

export interface CliOptions {
  apiSocket: Endpoint | undefined;
  eventMonitor: Endpoint | undefined;
  noShutdown: boolean;
  verbosity: number;
  logFile: string | undefined;
  seccomp: string;
  /** Values of the VM options, for a VM configured on the command line (see cli-vm-config.ts). */
  vm: Map<string, string[]> | undefined;
  restore: string | undefined;
}

export type CliOutcome =
  { kind: 'run'; options: CliOptions } | { kind: 'exit'; code: number; stdout?: string; stderr?: string };

const usageTail = `\nFor more information, try '--help'.\n`;
const clapError = (message: string, usage = `${BIN_NAME} [OPTIONS]`): CliOutcome => ({
  kind: 'exit',
  code: 2,
  stderr: `error: ${message}\n\nUsage: ${usage}\n${usageTail}`,
});
/** CH's fatal-error report (cli_print_error_chain); CH then exits 1. */
export function formatErrorChain(chain: string[]): string {
  const lines = chain.map((message, i) => `  ${i}: ${message}`).join('\n');
  return `Error: Cloud Hypervisor exited with the following chain of errors:\n${lines}\n`;
}
const chainError = (...chain: string[]): CliOutcome => ({ kind: 'exit', code: 1, stderr: formatErrorChain(chain) });

export function helpText(): string {
  const names = Object.keys(ARGS)
    .map((name) => `      --${name}${ARGS[name]?.takes === 0 ? '' : ` <${name}>`}`)
    .join('\n');
  return [
    `Launch a cloud-hypervisor VMM. (${DOUBLE_NAME}: a contract double of Cloud Hypervisor ${DOUBLE_BUILD_VERSION}`,
    'for tests; it runs no VM, validates API requests against the OpenAPI spec and simulates a guest.)',
    '',
    `Usage: ${BIN_NAME} [OPTIONS]`,
    '',
    'Options:',
    names,
    '  -v...',
    '          Sets the level of debugging output',
    '  -V, --version',
    '          Print version',
    '  -h, --help',
    '          Print help',
    '',
    'Double-only environment: HEARTH_CH_DOUBLE_FAIL, HEARTH_CH_DOUBLE_GUEST, HEARTH_CH_DOUBLE_RECORD,',
    'HEARTH_CH_DOUBLE_SPEC (see helper/test/doubles/cloud-hypervisor/README.md).',
    '',
  ].join('\n');
}

export function parseCli(argv: readonly string[]): CliOutcome {
  // clap's arg_required_else_help: no arguments prints help and fails.
  if (argv.length === 0) return { kind: 'exit', code: 2, stderr: helpText() };
  const values = new Map<string, string[]>();
  let verbosity = 0;
  let version = false;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (/^-[vVh]+$/.test(token)) {
      for (const ch of token.slice(1)) {
        if (ch === 'v') verbosity++;
        else if (ch === 'V') version = true;
        else return { kind: 'exit', code: 0, stdout: helpText() };
      }
      continue;
    }
    if (token === '--help') return { kind: 'exit', code: 0, stdout: helpText() };
    if (token === '--version') {
      version = true;
      continue;
    }
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/s.exec(token);
    const spec = m === null ? undefined : ARGS[m[1]!];
    if (m === null || spec === undefined) {
      return clapError(
        `unexpected argument '${token}' found\n\n  tip: to pass '${token}' as a value, use '-- ${token}'`,
      );
    }
    const name = m[1]!;
    const inline = m[2];
    const seen = values.get(name);
    if (seen !== undefined && spec.takes !== 'many') {
      return clapError(`the argument '--${name}${spec.takes === 0 ? '' : ` <${name}>`}' cannot be used multiple times`);
    }
    const collected = seen ?? [];
    if (spec.takes === 0) {
      if (inline !== undefined)
        return clapError(`unexpected value '${inline}' for '--${name}' found; no more were expected`);
    } else if (inline !== undefined) {
      collected.push(inline);
    } else {
      const start = collected.length;
      while (
        i + 1 < argv.length &&
        !argv[i + 1]!.startsWith('-') &&
        (spec.takes === 'many' || collected.length === start)
      ) {
        collected.push(argv[++i]!);
      }
      if (collected.length === start) {
        return clapError(`a value is required for '--${name} <${name}>' but none was supplied`);
      }
    }
    values.set(name, collected);
  }

  const seccomp = values.get('seccomp')?.[0] ?? 'true';
  if (!['true', 'false', 'log'].includes(seccomp)) {
    return clapError(`invalid value '${seccomp}' for '--seccomp <seccomp>'\n  [possible values: true, false, log]`);
  }
  const vmArgs = [...values.keys()].filter((k) => ARGS[k]?.group === 'vm-config');
  const payload = values.has('kernel') || values.has('firmware');
  if (vmArgs.length > 0 && !payload) {
    const given = vmArgs.map((k) => `--${k}${ARGS[k]?.takes === 0 ? '' : ` <${k}>`}`).join(' ');
    return clapError(
      `the following required arguments were not provided:\n  <--firmware <firmware>|--kernel <kernel>>`,
      `${BIN_NAME} ${given} <--firmware <firmware>|--kernel <kernel>>`,
    );
  }

  if (version) {
    let stdout = `${BIN_NAME} ${DOUBLE_BUILD_VERSION}\n`;
    if (verbosity > 0) stdout += `Enabled features: ${JSON.stringify(DOUBLE_FEATURES).replaceAll(',', ', ')}\n`;
    return { kind: 'exit', code: 0, stdout };
  }

  const apiSocketValue = values.get('api-socket')?.[0];
  const apiSocket = apiSocketValue === undefined ? undefined : parseApiSocket(apiSocketValue);
  if (apiSocket instanceof Error) return chainError('Error parsing --api-socket', apiSocket.message);

  const monitorValue = values.get('event-monitor')?.[0];
  let eventMonitor: Endpoint | undefined;
  if (monitorValue !== undefined) {
    try {
      const parsed = parseOptions(monitorValue, ['path', 'fd']);
      const fd = parsed.get('fd');
      const path = parsed.get('path');
      if (fd !== undefined) eventMonitor = { fd: parseFd(fd) };
      else if (path !== undefined) eventMonitor = { path };
      else return chainError('Error parsing --event-monitor: path or fd required');
    } catch (error) {
      return chainError('Error parsing --event-monitor', (error as Error).message);
    }
  }

  return {
    kind: 'run',
    options: {
      apiSocket,
      eventMonitor,
      noShutdown: values.has('no-shutdown'),
      verbosity,
      logFile: values.get('log-file')?.[0],
      seccomp,
      vm: payload ? values : undefined,
      restore: values.get('restore')?.[0],
    },
  };
}

/** CH accepts `path=<p>`, `fd=<n>`, or a bare path (when the value does not parse as options). */
function parseApiSocket(value: string): Endpoint | Error {
  let parsed: Map<string, string>;
  try {
    parsed = parseOptions(value, ['path', 'fd']);
  } catch (error) {
    if (!(error instanceof OptionParseError)) throw error;
    return { path: value };
  }
  const fd = parsed.get('fd');
  if (fd !== undefined) {
    try {
      return { fd: parseFd(fd) };
    } catch (error) {
      return error as Error;
    }
  }
  return { path: parsed.get('path') ?? value };
}

function parseFd(value: string): number {
  if (!/^\d+$/.test(value)) throw new Error(`invalid digit found in string: ${value}`);
  return Number(value);
}
