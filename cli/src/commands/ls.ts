import type { Environment, EnvironmentStats } from '#protocol';
import type { CliContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { NONE, formatBytes, formatDuration, formatPercent } from '../terminal/format.js';
import { renderTable } from '../terminal/table.js';

const HEADER = ['NAME', 'STATE', 'IMAGE', 'CLASS', 'REPOSITORY', 'ADDRESS', 'CPU', 'MEMORY', 'UPTIME'];

/** The state as the table shows it: a clone's progress is worth a glance. */
function stateCell(env: Environment): string {
  const clone = env.repository?.clone;
  if (env.state === 'starting' && clone?.status === 'cloning')
    return clone.percent === null ? 'cloning' : `cloning ${clone.percent}%`;
  return env.state;
}

function repositoryCell(env: Environment): string {
  if (env.repository === null) return NONE;
  const { host, url } = env.repository;
  // host/owner/name reads better than the URL in a column; the URL is in --json.
  const path = url.replace(/^[a-z]+:\/\/(?:[^@/]*@)?[^/]+\/?|^[^@]+@[^:]+:/, '').replace(/\.git$/, '');
  return `${host}/${path}`;
}

function memoryCell(stats: EnvironmentStats | undefined): string {
  if (stats === undefined) return NONE;
  const used = stats.memory.guestUsedBytes ?? stats.vmm?.rssBytes;
  return used === undefined ? NONE : `${formatBytes(used)}/${formatBytes(stats.memory.configuredBytes)}`;
}

/** `hearth ls`: the caller's environments (root: everyone's), with live figures for running ones. */
export async function listEnvironments(context: CliContext): Promise<ExitCode> {
  const { terminal, client } = context;
  const list = await client.call('listEnvironments');
  if (terminal.json) {
    terminal.data(list);
    return ExitCode.ok;
  }
  if (list.environments.length === 0) {
    terminal.say('No environments yet. Create one: hearth create <name> [--repo URL] --wait');
    return ExitCode.ok;
  }
  const running = list.environments.filter((e) => e.state === 'running' || e.state === 'starting');
  const stats = new Map<string, EnvironmentStats>();
  await Promise.all(
    running.map(async (env) => {
      // An environment that stopped between the list and this call simply has no figures.
      const figures = await client.call('getEnvironmentStats', { params: { id: env.id } }).catch(() => undefined);
      if (figures !== undefined) stats.set(env.id, figures);
    }),
  );
  const now = Date.now();
  const rows = list.environments.map((env) => {
    const figures = stats.get(env.id);
    return [
      env.name,
      stateCell(env),
      env.image,
      env.class,
      repositoryCell(env),
      env.network?.address ?? NONE,
      figures?.vmm ? formatPercent(figures.vmm.cpuPercent) : NONE,
      memoryCell(figures),
      env.state === 'running' && env.startedAt !== null ? formatDuration(now - Date.parse(env.startedAt)) : NONE,
    ];
  });
  terminal.out(renderTable(terminal, HEADER, rows));
  return ExitCode.ok;
}
