/**
 * `npm run bench:cli`: what the `hearth` command costs on top of starting Node.
 *
 * A real hearthd (the bundle, started by the tests' HearthdProcess: as root, the installed unit's
 * profile) on a temporary socket, with the test image, the tiny class and a few environments
 * created without booting, so `ls` has rows to print. Then, interleaved (bare, ls, version, bare,
 * ls, version, …) so that the machine's noise falls on every command alike, after a few warm-ups:
 *
 *   bare     <node> -e 0
 *   ls       <node> dist/cli/hearth.cjs --socket S ls --json
 *   version  <node> dist/cli/hearth.cjs --socket S version
 *
 * each timed from spawn to exit (its output read to the end; wall time, and the CPU time the
 * child used, which the machine's other work does not inflate), with the same Node binary:
 * process.execPath unless `--node PATH` names another (such as the runtime the packages ship,
 * Node 22: `node scripts/stage-helper.mjs --out DIR` stages it). A run that exits non-zero or
 * prints the wrong thing stops the bench: a failing run is not a timing. The children get a
 * minimal environment (no NODE_OPTIONS, no tsx loader), as a person's shell would give them.
 *
 * Options: --node PATH; --cli PATH (time another bundle); --compare PATH, repeatable (more bundles,
 * such as one built from main, timed in the same interleaving and listed as ls[1], version[1], …:
 * a before/after under the same load); --runs N (per command, at least 20; default 30);
 * --warmup N (default 3).
 * The machines are shared and noisy: compare ratios measured in one run, not milliseconds. The
 * last line is exactly `cli ls ratio vs bare node start: <number>` (the goal: at most 1.5).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { addTinyClass, installTestImage, TEST_IMAGE } from '../helper/test/support/environments.js';
import { HearthdProcess, makePaths } from '../helper/test/support/hearthd-process.js';

/** The bundle `npm run build` writes; `--cli PATH` times another. */
const BUILT_CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'hearth.cjs');
const ENVIRONMENTS = ['web', 'api', 'docs', 'scratch', 'ci'];
const MIN_RUNS = 20;

interface Command {
  name: string;
  args: string[];
  /** Throws when a successful exit printed something else than this command must print. */
  check: (stdout: string) => void;
}

interface Run {
  ms: number;
  /** The child's user + system CPU time. */
  cpuMs: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * CPU time of this process's waited-for children, from /proc/self/stat (cutime + cstime, in clock
 * ticks of 10 ms). The machines are shared: wall time includes waiting for a core, CPU time does
 * not. One run's figure is coarse, but a mean over many runs is not (the kernel counts in ns).
 */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // The fields after the command name, which is in parentheses: cutime and cstime are the 14th and 15th.
  const [cutime, cstime] = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .slice(13, 15)
    .map(Number);
  return (cutime! + cstime!) * 10;
}

/** One child from spawn to exit, its output read to the end (a CLI is done when its pipe closes). */
function timeRun(node: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const cpu0 = childrenCpuMs();
    const t0 = performance.now();
    const child = spawn(node, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8' },
    });
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', reject);
    child.once('close', (code, signal) =>
      resolve({
        ms: performance.now() - t0,
        cpuMs: childrenCpuMs() - cpu0,
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
  });
}

async function timeCommand(node: string, command: Command): Promise<Run> {
  const run = await timeRun(node, command.args);
  if (run.code !== 0)
    throw new Error(
      `${command.name} exited with ${run.code ?? run.signal}: a failing run is not a timing\n${run.stderr}${run.stdout}`,
    );
  command.check(run.stdout);
  return run;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return sorted.length % 2 === 1 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

interface Options {
  node: string;
  cli: string;
  /** Other bundles timed in the same interleaving, for a before/after under the same load. */
  compare: string[];
  runs: number;
  warmup: number;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      node: { type: 'string' },
      cli: { type: 'string' },
      compare: { type: 'string', multiple: true, default: [] },
      runs: { type: 'string', default: '30' },
      warmup: { type: 'string', default: '3' },
    },
  });
  const runs = Number(values.runs);
  const warmup = Number(values.warmup);
  if (!Number.isInteger(runs) || runs < MIN_RUNS) throw new Error(`--runs must be a whole number ≥ ${MIN_RUNS}`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error('--warmup must be a whole number');
  return { node: values.node ?? process.execPath, cli: values.cli ?? BUILT_CLI, compare: values.compare, runs, warmup };
}

/** A bundle's commands, with what each must print to count: ls every environment, version both sides. */
function cliCommands(cli: string, socket: string, label = ''): Command[] {
  return [
    {
      name: `ls${label}`,
      args: [cli, '--socket', socket, 'ls', '--json'],
      check: (stdout) => {
        const names = (JSON.parse(stdout) as { environments: Array<{ name: string }> }).environments.map((e) => e.name);
        if (names.sort().join() !== [...ENVIRONMENTS].sort().join())
          throw new Error(`ls --json listed ${names.join(', ')}`);
      },
    },
    {
      name: `version${label}`,
      args: [cli, '--socket', socket, 'version'],
      check: (stdout) => {
        if (!/^hearth +\S/m.test(stdout) || !/^hearthd +\S/m.test(stdout))
          throw new Error(`version printed no hearthd line:\n${stdout}`);
      },
    },
  ];
}

async function main(): Promise<void> {
  const { node, cli, compare, runs, warmup } = options();
  for (const bundle of [cli, ...compare])
    if (!existsSync(bundle))
      throw new Error(`${bundle} is missing${bundle === BUILT_CLI ? ': run npm run build first' : ''}`);
  const nodeVersion = (await timeRun(node, ['--version'])).stdout.trim();

  const paths = await makePaths('hearth-bench-cli-');
  await installTestImage(paths);
  const daemon = await HearthdProcess.start(paths);
  const client = daemon.client();
  try {
    await addTinyClass(client);
    for (const name of ENVIRONMENTS)
      await client.call('createEnvironment', { body: { name, class: 'tiny', image: TEST_IMAGE, start: false } });

    const list: Command[] = [
      { name: 'bare', args: ['-e', '0'], check: () => undefined },
      ...cliCommands(cli, paths.socket),
      ...compare.flatMap((bundle, i) => cliCommands(bundle, paths.socket, `[${i + 1}]`)),
    ];
    const times = new Map<string, number[]>(list.map((c) => [c.name, []]));
    const cpu = new Map<string, number>(list.map((c) => [c.name, 0]));
    console.log(`${cli} on node ${nodeVersion} (${node}), ${runs} runs each after ${warmup} warm-ups, interleaved`);
    compare.forEach((bundle, i) => console.log(`  [${i + 1}] ${bundle}`));
    for (let i = 0; i < warmup + runs; i++) {
      for (const command of list) {
        const run = await timeCommand(node, command);
        if (i < warmup) continue;
        times.get(command.name)!.push(run.ms);
        cpu.set(command.name, cpu.get(command.name)! + run.cpuMs);
      }
    }

    const bare = median(times.get('bare')!);
    const bareCpu = cpu.get('bare')! / runs;
    // Wall time is what the goal is about; CPU time says the same without the machine's noise.
    console.log('command      wall median      p90  ratio    cpu mean  ratio');
    for (const command of list) {
      const ms = times.get(command.name)!;
      const cpuMs = cpu.get(command.name)! / runs;
      const columns = [
        command.name.padEnd(11),
        `${median(ms).toFixed(1)} ms`.padStart(12),
        `${percentile(ms, 90).toFixed(1)} ms`.padStart(9),
        (median(ms) / bare).toFixed(2).padStart(7),
        `${cpuMs.toFixed(1)} ms`.padStart(12),
        (cpuMs / bareCpu).toFixed(2).padStart(7),
      ];
      console.log(columns.join(''));
    }
    console.log(`cli ls ratio vs bare node start: ${(median(times.get('ls')!) / bare).toFixed(2)}`);
  } finally {
    await client.close();
    await daemon.dispose();
  }
}

await main();
