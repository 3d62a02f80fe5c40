import type { ConnectionState, ConnectionStatus } from '#protocol';
import type { Tone } from '../../ui/StatusBadge.js';

/** What a fix is: an installer run (the plan decides install, repair or upgrade), a command, a page. */
export type HelperFix =
  | { kind: 'install'; label: string }
  | { kind: 'command'; label: string; command: string }
  | { kind: 'setup'; label: string }
  | { kind: 'retry'; label: string };

export interface HelperStateView {
  title: string;
  /** Short, for the top bar's dot. */
  label: string;
  tone: Tone;
  /** What happened, in the user's terms (the connection message is shown beside it: the details). */
  explanation: string;
  fixes: HelperFix[];
}

/**
 * Each state the app can be in with hearthd, said as what happened and what fixes it. A pure
 * function of the status so that the dashboard, settings and the top bar all say the same.
 */
export function helperStateView(status: ConnectionStatus): HelperStateView {
  const state: ConnectionState = status.state;
  switch (state) {
    case 'connected':
      return { title: 'The helper is running', label: 'Connected', tone: 'pass', explanation: '', fixes: [] };
    case 'connecting':
      return {
        title: 'Connecting to the helper…',
        label: 'Connecting',
        tone: 'info',
        explanation: 'Hearth is asking hearthd for its version.',
        fixes: [],
      };
    case 'not-installed':
      return {
        title: 'The helper is not installed',
        label: 'Not installed',
        tone: 'warn',
        explanation:
          'Hearth runs environments through hearthd, a small system service. Installing it asks for your password once.',
        fixes: [
          { kind: 'setup', label: 'Open setup' },
          { kind: 'install', label: 'Install helper' },
        ],
      };
    case 'stopped':
      return {
        title: 'The helper is not running',
        label: 'Stopped',
        tone: 'fail',
        explanation: 'hearthd is installed but its service is stopped, so nothing answers on its socket.',
        fixes: [
          { kind: 'install', label: 'Start the helper' },
          { kind: 'command', label: 'Or start it yourself', command: 'sudo systemctl start hearthd' },
        ],
      };
    case 'permission-denied':
      return {
        title: 'You are not in the hearth group yet',
        label: 'No access',
        tone: 'fail',
        explanation:
          'hearthd runs, but its socket is only for members of the hearth group. If you were just added, log out and in again. Installing again grants you access at once (an ACL on the socket).',
        fixes: [
          { kind: 'install', label: 'Grant access' },
          {
            kind: 'command',
            label: 'Join the group (then log out and in)',
            command: 'sudo usermod -aG hearth "$USER"',
          },
          {
            kind: 'command',
            label: 'Or grant access now',
            command: `sudo setfacl -m "u:$USER:rw" ${status.socket}`,
          },
        ],
      };
    case 'version-mismatch':
      return {
        title: 'The helper needs an update',
        label: 'Needs update',
        tone: 'warn',
        explanation: `The running hearthd${status.version ? ` ${status.version.hearthd}` : ''} is older than this app (which ships ${status.bundledVersion}).`,
        fixes: [{ kind: 'install', label: `Update helper to ${status.bundledVersion}` }],
      };
    case 'unreachable':
      return {
        title: 'The helper is not answering',
        label: 'Not answering',
        tone: 'fail',
        explanation: 'hearthd did not answer as expected; Hearth keeps retrying on its own.',
        fixes: [
          { kind: 'retry', label: 'Retry now' },
          { kind: 'command', label: 'See what it says', command: 'journalctl -u hearthd -n 50' },
        ],
      };
  }
}

/** What running the installer would do now, in the words of its button: the plan decides, this names it. */
export function installLabelOf(status: ConnectionStatus): string {
  if (status.state === 'not-installed') return 'Install helper';
  if (status.upgradeAvailable || status.state === 'version-mismatch')
    return `Update helper to ${status.bundledVersion}`;
  return 'Repair helper';
}
