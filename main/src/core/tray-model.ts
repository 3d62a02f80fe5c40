import type { ConnectionState, Verdict } from '#protocol';

/**
 * What the tray needs to know about an environment. Deliberately narrow, so that wiring it to
 * hearthd's `/v1/environments` (issue #3) is one mapping function: anything richer stays there.
 */
export interface TrayEnvironment {
  id: string;
  name: string;
  state: 'creating' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';
  /** `ssh <host>` reaches it, once it runs. */
  sshHost?: string;
}

export interface TrayInput {
  connection: ConnectionState;
  /** The host readiness verdict, when known. */
  verdict?: Verdict;
  /** Why, in one sentence (hearthd's `reason`): what a not-ready tray says. */
  reason?: string;
  environments: readonly TrayEnvironment[];
}

/** The icon states; each has PNGs in assets/icons/tray/. */
export type TrayIcon = 'not-ready' | 'idle' | 'running' | 'attention';

export type TrayAction =
  | { kind: 'open-dashboard' }
  | { kind: 'open-environment'; id: string }
  | { kind: 'stop-environment'; id: string }
  | { kind: 'copy-ssh'; id: string; command: string }
  | { kind: 'quit' };

export type TrayMenuItem =
  | { type: 'label'; label: string }
  | { type: 'separator' }
  | { type: 'action'; label: string; action: TrayAction; enabled?: boolean }
  | { type: 'submenu'; label: string; items: TrayMenuItem[] };

export interface TrayModel {
  icon: TrayIcon;
  tooltip: string;
  menu: TrayMenuItem[];
}

const ACTIVE = new Set<TrayEnvironment['state']>(['creating', 'starting', 'running', 'stopping']);

const STATE_LABEL: Record<TrayEnvironment['state'], string> = {
  creating: 'creating',
  starting: 'starting',
  running: 'running',
  stopping: 'stopping',
  stopped: 'stopped',
  failed: 'failed',
};

const CONNECTION_LABEL: Record<ConnectionState, string> = {
  connecting: 'Connecting to the helper…',
  'not-installed': 'Helper not installed',
  stopped: 'Helper not running',
  'permission-denied': 'No access to the helper',
  connected: 'Helper connected',
  'version-mismatch': 'Helper needs an update',
  unreachable: 'Helper not answering',
};

/** The tray, as data: rebuilt from scratch on every change and handed to the Electron layer. */
export function trayModel(input: TrayInput): TrayModel {
  const running = input.environments.filter((e) => ACTIVE.has(e.state));
  const failed = input.environments.filter((e) => e.state === 'failed');
  const connected = input.connection === 'connected';

  let icon: TrayIcon;
  let status: string;
  if (!connected) {
    icon = input.connection === 'connecting' ? 'not-ready' : 'attention';
    status = CONNECTION_LABEL[input.connection];
  } else if (failed.length > 0) {
    icon = 'attention';
    status = `${failed.length} environment${failed.length === 1 ? '' : 's'} failed`;
  } else if (input.verdict === 'not-ready') {
    icon = 'not-ready';
    status = `Not ready: ${input.reason ?? 'this machine cannot run environments yet'}`;
  } else if (running.length > 0) {
    icon = 'running';
    status = `${running.length} environment${running.length === 1 ? '' : 's'} running`;
  } else {
    icon = 'idle';
    // Degraded runs environments, but not as well (emulated without KVM, for one): the app says how.
    status = input.verdict === 'degraded' ? 'Ready with limitations, nothing running' : 'Ready, nothing running';
  }

  const menu: TrayMenuItem[] = [{ type: 'label', label: status }, { type: 'separator' }];
  if (connected && input.environments.length > 0) {
    for (const env of [...input.environments].sort((a, b) => a.name.localeCompare(b.name))) {
      const items: TrayMenuItem[] = [
        { type: 'action', label: 'Open', action: { kind: 'open-environment', id: env.id } },
      ];
      if (env.sshHost !== undefined && env.state === 'running') {
        items.push({
          type: 'action',
          label: 'Copy SSH command',
          action: { kind: 'copy-ssh', id: env.id, command: `ssh ${env.sshHost}` },
        });
      }
      if (ACTIVE.has(env.state)) {
        items.push({
          type: 'action',
          label: 'Stop',
          action: { kind: 'stop-environment', id: env.id },
          enabled: env.state !== 'stopping',
        });
      }
      menu.push({ type: 'submenu', label: `${env.name} — ${STATE_LABEL[env.state]}`, items });
    }
    menu.push({ type: 'separator' });
  } else if (connected) {
    menu.push({ type: 'label', label: 'No environments yet' }, { type: 'separator' });
  }
  menu.push(
    { type: 'action', label: 'Open Hearth', action: { kind: 'open-dashboard' } },
    { type: 'action', label: 'Quit Hearth', action: { kind: 'quit' } },
  );
  return { icon, tooltip: `Hearth — ${status}`, menu };
}

export interface EnvironmentNotice {
  id: string;
  title: string;
  body: string;
}

/**
 * Desktop notifications for what changed between two snapshots: ready, or failed. Transitions only:
 * the same state again, or an environment seen for the first time, says nothing.
 */
export function environmentNotices(
  before: readonly TrayEnvironment[],
  after: readonly TrayEnvironment[],
): EnvironmentNotice[] {
  const previous = new Map(before.map((e) => [e.id, e.state]));
  const notices: EnvironmentNotice[] = [];
  for (const env of after) {
    const was = previous.get(env.id);
    if (was === env.state) continue;
    if (env.state === 'running' && was !== undefined && was !== 'running') {
      notices.push({
        id: env.id,
        title: `${env.name} is ready`,
        body: env.sshHost === undefined ? 'Open it from Hearth.' : `Connect with: ssh ${env.sshHost}`,
      });
    } else if (env.state === 'failed' && was !== undefined) {
      // Only a change seen happening: an environment that was already failed when the app started
      // (or reconnected) is on the dashboard, not news.
      notices.push({ id: env.id, title: `${env.name} failed`, body: 'Open Hearth to see its log.' });
    }
  }
  return notices;
}
