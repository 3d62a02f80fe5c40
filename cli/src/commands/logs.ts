import type { EnvironmentLogEntry, HearthdLogEntry } from '#protocol';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';

export interface LogsOptions {
  follow?: boolean;
  tail?: number;
  source?: 'console' | 'events';
  hearthd?: boolean;
}

/** An events.log line (NDJSON) as a person reads it; a line that is not an entry passes as it is. */
function eventLine(line: string): string {
  try {
    const entry = JSON.parse(line) as EnvironmentLogEntry;
    return `${entry.time}  ${entry.event.padEnd(16)} ${entry.message}`;
  } catch {
    return line;
  }
}

function hearthdLine(entry: HearthdLogEntry): string {
  const about = entry.environment ? ` [${entry.environment.name}]` : '';
  return `${entry.time}  ${entry.level.padEnd(5)}${about} ${entry.msg}`;
}

/**
 * `hearth logs`: an environment's console or event log, or hearthd's own; with -f it follows
 * until Ctrl-C, which is its normal way out (exit 0). Console text is the guest's: on a terminal
 * its control sequences are removed unless --raw.
 */
export async function showLogs(context: CliContext, name: string | undefined, options: LogsOptions): Promise<ExitCode> {
  if (options.hearthd === true) {
    if (name !== undefined) throw new CliError('give an environment or --hearthd, not both', ExitCode.usage);
    return hearthdLogs(context, options);
  }
  if (name === undefined) throw new CliError('which environment? hearth logs <env> (or --hearthd)', ExitCode.usage);
  const { terminal, client, signal } = context;
  const source = options.source ?? 'console';
  const show = (lines: readonly string[]) => {
    if (terminal.json) return;
    for (const line of lines) terminal.out(source === 'events' ? eventLine(line) : terminal.guest(line));
  };
  const request = {
    params: { id: name },
    query: { source, ...(options.tail !== undefined && { tail: options.tail }) },
  };
  if (options.follow !== true) {
    const log = await client.call('getEnvironmentLogs', request);
    if (terminal.json) terminal.data(log);
    show(log.lines);
    return ExitCode.ok;
  }
  for await (const event of client.follow('getEnvironmentLogs', request, signal)) {
    if (terminal.json) terminal.out(JSON.stringify(event));
    show(event.lines);
  }
  return endOfFollow(context);
}

async function hearthdLogs(context: CliContext, options: LogsOptions): Promise<ExitCode> {
  const { terminal, client, signal } = context;
  const request = { query: { ...(options.tail !== undefined && { tail: options.tail }) } };
  if (options.follow !== true) {
    const log = await client.call('getHearthdLog', request);
    if (terminal.json) terminal.data(log);
    else for (const entry of log.entries) terminal.out(hearthdLine(entry));
    return ExitCode.ok;
  }
  for await (const event of client.follow('getHearthdLog', request, signal)) {
    if (terminal.json) terminal.out(JSON.stringify(event));
    else for (const entry of event.entries) terminal.out(hearthdLine(entry));
  }
  return endOfFollow(context);
}

/** Ctrl-C is how a follow ends; hearthd closing the stream is not. */
function endOfFollow(context: CliContext): ExitCode {
  if (context.signal.aborted) return ExitCode.ok;
  context.terminal.say('hearth: hearthd ended the log stream (it is stopping or restarting)');
  return ExitCode.failed;
}
