import type { EnvironmentState } from '#protocol';
import type { Tone } from '../../ui/StatusBadge.js';

/** How each state reads: a badge, and for the passing ones what is happening meanwhile. */
export const STATE: Record<EnvironmentState, { tone: Tone; label: string; doing?: string }> = {
  creating: { tone: 'info', label: 'Creating…', doing: 'Making its disk' },
  starting: { tone: 'info', label: 'Starting…', doing: 'Booting the guest' },
  running: { tone: 'pass', label: 'Running' },
  stopping: { tone: 'info', label: 'Stopping…', doing: 'Power button pressed; waiting for the guest to shut down' },
  stopped: { tone: 'idle', label: 'Stopped' },
  failed: { tone: 'fail', label: 'Failed' },
  deleting: { tone: 'info', label: 'Deleting…', doing: 'Removing its VM and files' },
};

export const isTransitional = (state: EnvironmentState): boolean => STATE[state].doing !== undefined;

/** States in which a VMM runs, as hearthd's admission counts them. */
export const isActive = (state: EnvironmentState): boolean =>
  state === 'starting' || state === 'running' || state === 'stopping';
