import type { EnvironmentState } from '#protocol';

/**
 * The environment lifecycle as one pure function: given what an environment is and what just
 * happened, what it becomes and what must be done. No I/O, no clocks, no VMs — the reconciler
 * runs the effects, and the transition table is unit-tested on its own.
 *
 * Restart semantics, on purpose: a VMM that crashes leaves its environment `failed`; nothing
 * relaunches it (no loop, no retries). `autostart` starts an environment that was meant to be
 * running once, when hearthd (or the machine) starts. `desired` is the user's: only the user's
 * commands write it, never an observation.
 */
export interface LifecycleState {
  state: EnvironmentState;
  desired: 'running' | 'stopped';
  autostart: boolean;
  /** Why hearthd itself is ending the VMM (boot timeout): reported instead of its exit. */
  failure?: string | undefined;
}

export type LifecycleEvent =
  // The user's commands.
  | { type: 'start' }
  | { type: 'stop'; force: boolean }
  | { type: 'delete' }
  // What hearthd's own work reports.
  | { type: 'created' }
  | { type: 'launched'; waitsForMarker: boolean }
  | { type: 'launch-failed'; reason: string }
  | { type: 'ready' }
  | { type: 'boot-timeout'; reason: string }
  /** The guest's agent reported that cloud-init finished with errors (before `running` or after it). */
  /**
   * Provisioning cannot finish: the environment fails with `reason`. `gracefully`: the guest is
   * sound (its repository could not be cloned) and is powered off with the button, so its disk is
   * left clean for the next start; otherwise (cloud-init failed) the VMM is ended at once.
   */
  | { type: 'provisioning-failed'; reason: string; gracefully?: boolean }
  | { type: 'stop-timeout' }
  // What was observed of the VMM.
  | { type: 'vmm-exited'; poweredOff: boolean; text: string }
  /**
   * At hearthd's start: is this environment's VMM alive, had one been recorded at all (a crash
   * may come between preparing a launch and starting its VMM), and may it autostart (admission)?
   */
  | { type: 'recovered'; vmmAlive: boolean; vmmRecorded: boolean; mayAutostart: boolean };

export type Effect =
  /** Prepare the components and start a VMM; reports `launched` or `launch-failed`. */
  | 'launch'
  /** Connect to the live VMM again (after a hearthd restart). */
  | 'reattach'
  /** Follow the console for the ready marker, or the guest channel for cloud-init's end, with the timeout. */
  | 'await-ready'
  | 'power-button'
  | 'arm-stop-timer'
  /** End the VMM now (its own quit, then SIGKILL). Its exit arrives as `vmm-exited`. */
  | 'terminate'
  /** Kill a VMM that must not run, without waiting for it to exit on its own. */
  | 'kill'
  /** The VMM is gone: dispose of the runtime and tear the launch down. */
  | 'release'
  /** Kill, tear down and delete every file; the environment is gone. */
  | 'remove';

export interface Transition {
  state: EnvironmentState;
  /** Set only on user commands. */
  desired?: 'running' | 'stopped';
  /** `undefined`: keep; `null`: clear. */
  reason?: string | null;
  failure?: string | undefined;
  effects: Effect[];
  /** What hearthd tells the environment's own event log, when something happened worth saying. */
  journal?: { event: string; message: string };
}

export interface Refusal {
  refused: string;
}

const ACTIVE: ReadonlySet<EnvironmentState> = new Set(['starting', 'running', 'stopping']);
export const isActive = (state: EnvironmentState): boolean => ACTIVE.has(state);

const stay = (s: LifecycleState, effects: Effect[] = []): Transition => ({ state: s.state, effects });

export function transition(s: LifecycleState, event: LifecycleEvent): Transition | Refusal {
  switch (event.type) {
    case 'start':
      if (s.state === 'creating' || s.state === 'deleting')
        return { refused: `it is ${s.state}; wait until it is stopped or failed` };
      if (isActive(s.state)) return stay(s);
      return { state: 'starting', desired: 'running', reason: null, effects: ['launch'] };

    case 'stop':
      if (s.state === 'deleting') return stay(s);
      if (s.state === 'starting' || s.state === 'running')
        return event.force
          ? {
              state: 'stopping',
              desired: 'stopped',
              reason: null,
              effects: ['terminate'],
              journal: { event: 'stop-requested', message: 'forced stop: terminating the VMM' },
            }
          : {
              state: 'stopping',
              desired: 'stopped',
              reason: null,
              effects: ['power-button', 'arm-stop-timer'],
              journal: { event: 'stop-requested', message: 'ACPI power button pressed' },
            };
      if (s.state === 'stopping')
        return { state: 'stopping', desired: 'stopped', effects: event.force ? ['terminate'] : [] };
      return { state: s.state, desired: 'stopped', effects: [] };

    case 'delete':
      return {
        state: 'deleting',
        desired: 'stopped',
        effects: ['remove'],
        journal: { event: 'delete-requested', message: 'deleting: VMM and every file go' },
      };

    case 'created':
      if (s.state !== 'creating') return stay(s);
      return s.desired === 'running'
        ? { state: 'starting', reason: null, effects: ['launch'] }
        : { state: 'stopped', reason: null, effects: [] };

    case 'launched':
      if (s.state !== 'starting') return stay(s);
      return s.desired === 'running' && !event.waitsForMarker
        ? {
            state: 'running',
            effects: [],
            journal: { event: 'ready', message: 'VMM booted the guest (this image has no ready marker)' },
          }
        : stay(s, ['await-ready']);

    case 'launch-failed':
      if (s.state !== 'starting' && s.state !== 'creating') return stay(s);
      return {
        state: 'failed',
        reason: event.reason,
        effects: ['release'],
        journal: { event: 'launch-failed', message: event.reason },
      };

    case 'ready':
      return s.state === 'starting' ? { state: 'running', effects: [] } : stay(s);

    // Either way the VMM is ended and its exit reports `failed` with this reason. cloud-init's
    // error can come after `running` too (the guest is usable before cloud-init's last stage ends).
    case 'boot-timeout':
    case 'provisioning-failed':
      if (s.state !== 'starting' && !(event.type === 'provisioning-failed' && s.state === 'running')) return stay(s);
      return {
        state: s.state,
        failure: event.reason,
        effects: 'gracefully' in event && event.gracefully ? ['power-button', 'arm-stop-timer'] : ['terminate'],
        journal: { event: event.type, message: event.reason },
      };

    case 'stop-timeout':
      // A failure powering off gracefully gets the same time as a stop, then it is ended.
      return s.state === 'stopping' || s.failure !== undefined ? stay(s, ['terminate']) : stay(s);

    case 'vmm-exited':
      return exited(s, event.poweredOff, event.text);

    case 'recovered':
      return recovered(s, event);
  }
}

/** The VMM is gone: stopped when that was asked for or the guest powered off; otherwise failed. */
function exited(s: LifecycleState, poweredOff: boolean, text: string): Transition {
  if (s.state === 'deleting') return stay(s);
  if (!isActive(s.state) && s.state !== 'creating') return stay(s, ['release']);
  let state: EnvironmentState;
  let reason: string;
  if (s.failure !== undefined) {
    state = 'failed';
    reason = s.failure;
  } else if (s.desired === 'stopped' || s.state === 'stopping') {
    state = 'stopped';
    reason = poweredOff ? 'stopped on request (guest powered off)' : `stopped on request (${text})`;
  } else if (poweredOff) {
    state = 'stopped';
    reason = 'the guest powered itself off';
  } else {
    state = 'failed';
    reason = text;
  }
  return {
    state,
    reason,
    failure: undefined,
    effects: ['release'],
    journal: { event: 'exited', message: `${text}; now ${state}: ${reason}` },
  };
}

/** At hearthd's start, from the record and the evidence of a live VMM. */
function recovered(
  s: LifecycleState,
  { vmmAlive: alive, vmmRecorded, mayAutostart }: Extract<LifecycleEvent, { type: 'recovered' }>,
): Transition {
  const again = s.autostart && s.desired === 'running' && mayAutostart;
  switch (s.state) {
    case 'deleting':
      return { state: 'deleting', effects: ['remove'], journal: { event: 'recovered', message: 'finishing a delete' } };
    case 'creating':
      return {
        state: 'failed',
        reason: 'hearthd stopped while creating this environment; start it again or delete it',
        effects: alive ? ['kill', 'release'] : ['release'],
        journal: { event: 'recovered', message: 'create was interrupted by a hearthd restart; marked failed' },
      };
    case 'starting':
    case 'running':
    case 'stopping':
      if (alive)
        return stay(s, [
          'reattach',
          ...(s.state === 'starting' ? (['await-ready'] as const) : []),
          ...(s.state === 'stopping' ? (['arm-stop-timer'] as const) : []),
        ]);
      if (again && s.state !== 'stopping')
        return {
          state: 'starting',
          reason: null,
          effects: ['release', 'launch'],
          journal: { event: 'autostart', message: 'its VMM was gone when hearthd started; starting it (autostart)' },
        };
      return exited(
        s,
        false,
        vmmRecorded
          ? 'its VMM exited while hearthd was not running'
          : 'hearthd stopped while starting it, before its VMM ran; start it again',
      );
    case 'stopped':
    case 'failed':
      if (alive) return stay(s, ['kill', 'release']);
      if (again)
        return {
          state: 'starting',
          reason: null,
          effects: ['release', 'launch'],
          journal: { event: 'autostart', message: 'starting it as hearthd starts (autostart)' },
        };
      return stay(s, ['release']);
  }
}

/**
 * The lifecycle timestamps follow the state, and every launch starts the clock again: an
 * autostart of an environment recorded as `starting` stays `starting`, and the boot timeout
 * (measured from `startedAt`) must not count the time before hearthd's restart.
 */
export function stamp(
  status: { startedAt: string | null; readyAt: string | null; stoppedAt: string | null },
  before: EnvironmentState,
  after: EnvironmentState,
  launches = false,
): void {
  if (after === before && !launches) return;
  const time = new Date().toISOString();
  if (after === 'starting') Object.assign(status, { startedAt: time, readyAt: null, stoppedAt: null });
  if (after === 'running') status.readyAt = time;
  if ((after === 'stopped' || after === 'failed') && (isActive(before) || before === 'creating'))
    status.stoppedAt = time;
}
