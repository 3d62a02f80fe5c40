import type { EnvironmentStats } from '#protocol';
import type { CliContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { NONE, formatBytes, formatPercent } from '../terminal/format.js';

export interface StatsOptions {
  watch?: boolean;
}

/** Memory as the guest reports it when a balloon tells, else the VMM's resident memory. */
function memoryText(stats: EnvironmentStats): string {
  const configured = formatBytes(stats.memory.configuredBytes);
  if (stats.memory.guestUsedBytes !== null)
    return `${formatBytes(stats.memory.guestUsedBytes)} / ${configured} (used in the guest)`;
  if (stats.vmm !== null) return `${formatBytes(stats.vmm.rssBytes)} / ${configured} (VMM resident)`;
  return `${NONE} / ${configured}`;
}

function diskText(stats: EnvironmentStats): string {
  return `${formatBytes(stats.disk.allocatedBytes)} allocated of ${formatBytes(stats.disk.sizeBytes)}`;
}

/** The figures as a small block: what a redrawn `--watch` and a one-off `stats` show. */
function block(stats: EnvironmentStats): string[] {
  return [
    `${stats.name}  ${stats.state}  (sampled ${stats.sampledAt})`,
    `  CPU     ${stats.vmm === null ? NONE : formatPercent(stats.vmm.cpuPercent)}`,
    `  memory  ${memoryText(stats)}`,
    `  disk    ${diskText(stats)}`,
  ];
}

/** One sample on one line: what `--watch` prints into a pipe, so `grep` and `awk` can read it. */
function line(stats: EnvironmentStats): string {
  const cpu = stats.vmm === null ? NONE : formatPercent(stats.vmm.cpuPercent);
  const used = stats.memory.guestUsedBytes ?? stats.vmm?.rssBytes;
  const memory = `${used === undefined ? NONE : formatBytes(used)}/${formatBytes(stats.memory.configuredBytes)}`;
  const disk = `${formatBytes(stats.disk.allocatedBytes)}/${formatBytes(stats.disk.sizeBytes)}`;
  return `${stats.sampledAt} ${stats.name} ${stats.state} cpu=${cpu} memory=${memory} disk=${disk}`;
}

/**
 * `hearth stats <env>`: its CPU, memory and disk now; with --watch, every sample hearthd sends
 * (the `stats` events) until Ctrl-C, which is the normal way out (exit 0).
 */
export async function showStats(context: CliContext, name: string, options: StatsOptions): Promise<ExitCode> {
  const { terminal, client, signal } = context;
  if (options.watch !== true) {
    const stats = await client.call('getEnvironmentStats', { params: { id: name } });
    if (terminal.json) terminal.data(stats);
    else for (const text of block(stats)) terminal.out(text);
    return ExitCode.ok;
  }

  // A redraw needs a terminal on stdout; a pipe gets one line (or one JSON document) per sample.
  const redraw = terminal.stdoutTty && !terminal.json;
  let drawn = 0;
  const show = (stats: EnvironmentStats) => {
    if (terminal.json) terminal.out(JSON.stringify(stats));
    else if (!redraw) terminal.out(line(stats));
    else {
      // Up over the last block and clear to the end of the screen, then the new block.
      if (drawn > 0) terminal.streams.stdout.write(`\u001b[${drawn}A\u001b[J`);
      const lines = block(stats);
      for (const text of lines) terminal.out(text);
      drawn = lines.length;
    }
  };

  const events = client.events(signal)[Symbol.asyncIterator]();
  try {
    await events.next(); // the hello: subscribed from here on, so no sample after the first is lost
    const first = await client.call('getEnvironmentStats', { params: { id: name } });
    show(first);
    if (redraw && first.state !== 'running')
      terminal.say(`(${first.name} is ${first.state}: figures arrive while it runs; Ctrl-C to end)`);
    for (;;) {
      const next = await events.next();
      if (next.done === true) break;
      const event = next.value;
      if (event.type === 'environment' && event.environment.id === first.id && event.change === 'deleted') {
        terminal.say(`hearth: ${first.name} was deleted`);
        return ExitCode.failed;
      }
      if (event.type !== 'stats') continue;
      const stats = event.environments.find((e) => e.id === first.id);
      if (stats !== undefined) show(stats);
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  } finally {
    await events.return(undefined).catch(() => undefined);
  }
  if (signal.aborted) return ExitCode.ok;
  terminal.say('hearth: hearthd ended its event stream (it is stopping or restarting)');
  return ExitCode.failed;
}
