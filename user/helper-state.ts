import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConnectionState } from '#protocol';
import type { HearthdUnreachableError } from '#protocol/client';

/**
 * What the user is told about hearthd's state, in the app (banner, tray) and by `hearth` alike:
 * one set of words and fixes, so the two never disagree about what to do.
 */
export const HELPER_STATE_MESSAGES: Record<ConnectionState, string> = {
  connecting: 'Connecting to the Hearth helper…',
  'not-installed': 'The Hearth helper (hearthd) is not installed on this machine. Install it to run environments.',
  stopped: 'The Hearth helper is installed but not running. Start it with: sudo systemctl start hearthd',
  'permission-denied':
    'You may not use the Hearth helper yet. Re-run "Install helper" to get access, or log out and back in.',
  connected: 'Connected to the Hearth helper.',
  'version-mismatch':
    'The running Hearth helper speaks a different API version than this app. Install the helper again to update it.',
  unreachable: 'The Hearth helper did not answer.',
};

/** Is hearthd installed under `root`? Tells "not installed" from "stopped" when there is no socket. */
export async function isHearthdInstalled(root = '/'): Promise<boolean> {
  const exists = (path: string) =>
    access(join(root, path)).then(
      () => true,
      () => false,
    );
  return (await exists('etc/systemd/system/hearthd.service')) || (await exists('usr/lib/hearth/installed.env'));
}

/** Why hearthd could not be reached, as one of the states the user is told about. */
export async function unreachableState(
  error: HearthdUnreachableError,
  isInstalled: () => Promise<boolean>,
): Promise<ConnectionState> {
  switch (error.reason) {
    case 'permission-denied':
      return 'permission-denied';
    case 'refused':
      return 'stopped';
    case 'no-socket':
      return (await isInstalled().catch(() => false)) ? 'stopped' : 'not-installed';
    default:
      return 'unreachable';
  }
}
