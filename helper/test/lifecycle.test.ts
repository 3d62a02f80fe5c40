import { describe, expect, it } from 'vitest';
import type { EnvironmentState } from '#protocol';
import {
  stamp,
  transition,
  type Effect,
  type LifecycleEvent,
  type LifecycleState,
  type Transition,
} from '../src/environments/lifecycle.js';

/**
 * The environment lifecycle, pinned as a table: every state × every event, what it becomes,
 * what happens to `desired` and which effects run. Read the table to see the whole lifecycle.
 */

const STATES: readonly EnvironmentState[] = [
  'creating',
  'starting',
  'running',
  'stopping',
  'stopped',
  'failed',
  'deleting',
];

/** Each state with the `desired` it has when reached the ordinary way (a crash leaves `failed` wanting to run). */
const DESIRED: Record<EnvironmentState, LifecycleState['desired']> = {
  creating: 'running',
  starting: 'running',
  running: 'running',
  stopping: 'stopped',
  stopped: 'stopped',
  failed: 'running',
  deleting: 'stopped',
};

const at = (state: EnvironmentState, more: Partial<LifecycleState> = {}): LifecycleState => ({
  state,
  desired: DESIRED[state],
  autostart: false,
  ...more,
});

const EVENTS = {
  start: { type: 'start' },
  stop: { type: 'stop', force: false },
  'stop --force': { type: 'stop', force: true },
  delete: { type: 'delete' },
  created: { type: 'created' },
  launched: { type: 'launched', waitsForMarker: false },
  'launched (marker)': { type: 'launched', waitsForMarker: true },
  'launch-failed': { type: 'launch-failed', reason: 'no disk' },
  ready: { type: 'ready' },
  'boot-timeout': { type: 'boot-timeout', reason: 'no ready marker within 60 s' },
  'provisioning-failed': { type: 'provisioning-failed', reason: 'cloud-init reported errors: runcmd failed' },
  'stop-timeout': { type: 'stop-timeout' },
  crash: { type: 'vmm-exited', poweredOff: false, text: 'VMM exited on signal SIGSEGV' },
  'power-off': { type: 'vmm-exited', poweredOff: true, text: 'VMM exited with status 0' },
  'recovered (alive)': { type: 'recovered', vmmAlive: true, vmmRecorded: true, mayAutostart: false },
  'recovered (gone)': { type: 'recovered', vmmAlive: false, vmmRecorded: true, mayAutostart: false },
} satisfies Record<string, LifecycleEvent>;
type EventName = keyof typeof EVENTS;

/** Events that report what hearthd or the VMM did: none of them may touch the user's `desired`. */
const OBSERVATIONS: readonly EventName[] = [
  'created',
  'launched',
  'launched (marker)',
  'launch-failed',
  'ready',
  'boot-timeout',
  'provisioning-failed',
  'stop-timeout',
  'crash',
  'power-off',
  'recovered (alive)',
  'recovered (gone)',
];

/** [from, event, to (or 'refused'), effects, desired afterwards ('=' keeps it)] */
type Row = [EnvironmentState, EventName, EnvironmentState | 'refused', string, '=' | 'running' | 'stopped'];

// prettier-ignore
const TABLE: Row[] = [
  // The user's commands.
  ['creating', 'start',             'refused',  '',                            '='],
  ['starting', 'start',             'starting', '',                            '='],
  ['running',  'start',             'running',  '',                            '='],
  ['stopping', 'start',             'stopping', '',                            '='],
  ['stopped',  'start',             'starting', 'launch',                      'running'],
  ['failed',   'start',             'starting', 'launch',                      'running'],
  ['deleting', 'start',             'refused',  '',                            '='],
  ['creating', 'stop',              'creating', '',                            'stopped'],
  ['starting', 'stop',              'stopping', 'power-button arm-stop-timer', 'stopped'],
  ['running',  'stop',              'stopping', 'power-button arm-stop-timer', 'stopped'],
  ['stopping', 'stop',              'stopping', '',                            'stopped'],
  ['stopped',  'stop',              'stopped',  '',                            'stopped'],
  ['failed',   'stop',              'failed',   '',                            'stopped'],
  ['deleting', 'stop',              'deleting', '',                            '='],
  ['creating', 'stop --force',      'creating', '',                            'stopped'],
  ['starting', 'stop --force',      'stopping', 'terminate',                   'stopped'],
  ['running',  'stop --force',      'stopping', 'terminate',                   'stopped'],
  ['stopping', 'stop --force',      'stopping', 'terminate',                   'stopped'],
  ['stopped',  'stop --force',      'stopped',  '',                            'stopped'],
  ['failed',   'stop --force',      'failed',   '',                            'stopped'],
  ['deleting', 'stop --force',      'deleting', '',                            '='],
  ...STATES.map((s): Row => [s, 'delete', 'deleting', 'remove', 'stopped']),
  // hearthd's own work.
  ...STATES.map((s): Row => (s === 'creating' ? [s, 'created', 'starting', 'launch', '='] : [s, 'created', s, '', '='])),
  ...STATES.map((s): Row => (s === 'starting' ? [s, 'launched', 'running', '', '='] : [s, 'launched', s, '', '='])),
  ...STATES.map((s): Row => [s, 'launched (marker)', s, s === 'starting' ? 'await-ready' : '', '=']),
  ['creating', 'launch-failed',     'failed',   'release',                     '='],
  ['starting', 'launch-failed',     'failed',   'release',                     '='],
  ...(['running', 'stopping', 'stopped', 'failed', 'deleting'] as const).map((s): Row => [s, 'launch-failed', s, '', '=']),
  ...STATES.map((s): Row => (s === 'starting' ? [s, 'ready', 'running', '', '='] : [s, 'ready', s, '', '='])),
  ...STATES.map((s): Row => [s, 'boot-timeout', s, s === 'starting' ? 'terminate' : '', '=']),
  ...STATES.map((s): Row => [s, 'provisioning-failed', s, s === 'starting' || s === 'running' ? 'terminate' : '', '=']),
  ...STATES.map((s): Row => [s, 'stop-timeout', s, s === 'stopping' ? 'terminate' : '', '=']),
  // What was observed of the VMM. A crash is a failure — and never a relaunch.
  ['creating', 'crash',             'failed',   'release',                     '='],
  ['starting', 'crash',             'failed',   'release',                     '='],
  ['running',  'crash',             'failed',   'release',                     '='],
  ['stopping', 'crash',             'stopped',  'release',                     '='],
  ['stopped',  'crash',             'stopped',  'release',                     '='],
  ['failed',   'crash',             'failed',   'release',                     '='],
  ['deleting', 'crash',             'deleting', '',                            '='],
  ['creating', 'power-off',         'stopped',  'release',                     '='],
  ['starting', 'power-off',         'stopped',  'release',                     '='],
  ['running',  'power-off',         'stopped',  'release',                     '='],
  ['stopping', 'power-off',         'stopped',  'release',                     '='],
  ['stopped',  'power-off',         'stopped',  'release',                     '='],
  ['failed',   'power-off',         'failed',   'release',                     '='],
  ['deleting', 'power-off',         'deleting', '',                            '='],
  // At hearthd's start (no autostart here; see below).
  ['creating', 'recovered (alive)', 'failed',   'kill release',                '='],
  ['starting', 'recovered (alive)', 'starting', 'reattach await-ready',        '='],
  ['running',  'recovered (alive)', 'running',  'reattach',                    '='],
  ['stopping', 'recovered (alive)', 'stopping', 'reattach arm-stop-timer',     '='],
  ['stopped',  'recovered (alive)', 'stopped',  'kill release',                '='],
  ['failed',   'recovered (alive)', 'failed',   'kill release',                '='],
  ['deleting', 'recovered (alive)', 'deleting', 'remove',                      '='],
  ['creating', 'recovered (gone)',  'failed',   'release',                     '='],
  ['starting', 'recovered (gone)',  'failed',   'release',                     '='],
  ['running',  'recovered (gone)',  'failed',   'release',                     '='],
  ['stopping', 'recovered (gone)',  'stopped',  'release',                     '='],
  ['stopped',  'recovered (gone)',  'stopped',  'release',                     '='],
  ['failed',   'recovered (gone)',  'failed',   'release',                     '='],
  ['deleting', 'recovered (gone)',  'deleting', 'remove',                      '='],
];

const effects = (text: string): Effect[] => (text ? (text.split(' ') as Effect[]) : []);

function expectTransition(result: ReturnType<typeof transition>): Transition {
  if ('refused' in result) throw new Error(`refused: ${result.refused}`);
  return result;
}

describe('the lifecycle transition table', () => {
  it('has exactly one row for every state × event', () => {
    const keys = TABLE.map(([from, event]) => `${from} × ${event}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.length).toBe(STATES.length * Object.keys(EVENTS).length);
  });

  it.each(TABLE)('%s + %s → %s [%s] desired %s', (from, name, to, fx, desired) => {
    const result = transition(at(from), EVENTS[name]);
    if (to === 'refused') {
      expect(result).toEqual({ refused: expect.stringContaining(from) as string });
      return;
    }
    const t = expectTransition(result);
    expect(t.state).toBe(to);
    expect(t.effects).toEqual(effects(fx));
    expect(t.desired).toBe(desired === '=' ? undefined : desired);
  });
});

describe('observations', () => {
  // Every base state, with and without autostart, a pending failure and either wish.
  const situations = STATES.flatMap((state) =>
    [true, false].flatMap((autostart) =>
      (['running', 'stopped'] as const).flatMap((desired) =>
        [undefined, 'boot timeout'].map((failure) => ({ state, desired, autostart, failure })),
      ),
    ),
  );
  const recoveries: LifecycleEvent[] = [true, false].flatMap((vmmAlive) =>
    [true, false].map((mayAutostart) => ({ type: 'recovered', vmmAlive, vmmRecorded: true, mayAutostart }) as const),
  );
  const observations = [...OBSERVATIONS.map((name) => EVENTS[name]), ...recoveries];

  it('never change desired, and are never refused', () => {
    for (const s of situations)
      for (const event of observations) {
        const t = expectTransition(transition(s, event));
        expect(t.desired, `${JSON.stringify(s)} + ${JSON.stringify(event)}`).toBeUndefined();
      }
  });

  it('a VMM that exits, however, is never relaunched by its exit', () => {
    for (const s of situations)
      for (const poweredOff of [true, false]) {
        const t = expectTransition(transition(s, { type: 'vmm-exited', poweredOff, text: 'gone' }));
        expect(t.effects).not.toContain('launch');
      }
  });
});

describe('details the table does not show', () => {
  it('a crash while running fails with the exit as its reason and journals it', () => {
    const t = expectTransition(transition(at('running'), EVENTS.crash));
    expect(t).toMatchObject({ state: 'failed', reason: 'VMM exited on signal SIGSEGV', effects: ['release'] });
    expect(t.journal).toEqual({ event: 'exited', message: expect.stringContaining('now failed') as string });
  });

  it('a guest that powers itself off is stopped, and says so', () => {
    const t = expectTransition(transition(at('running'), EVENTS['power-off']));
    expect(t).toMatchObject({ state: 'stopped', reason: 'the guest powered itself off' });
  });

  it('an exit after a stop request is a stop on request', () => {
    const t = expectTransition(transition(at('stopping'), EVENTS.crash));
    expect(t.reason).toBe('stopped on request (VMM exited on signal SIGSEGV)');
    const off = expectTransition(transition(at('stopping'), EVENTS['power-off']));
    expect(off.reason).toBe('stopped on request (guest powered off)');
  });

  it('a boot timeout terminates the VMM and its exit reports the timeout, not the signal', () => {
    const timedOut = expectTransition(transition(at('starting'), EVENTS['boot-timeout']));
    expect(timedOut).toMatchObject({ state: 'starting', failure: 'no ready marker within 60 s' });
    expect(timedOut.journal?.event).toBe('boot-timeout');
    const pending = at('starting', { failure: timedOut.failure });
    for (const exit of [EVENTS.crash, EVENTS['power-off']]) {
      const t = expectTransition(transition(pending, exit));
      expect(t).toMatchObject({ state: 'failed', reason: 'no ready marker within 60 s', effects: ['release'] });
      // The failure is spent: it is cleared, not carried into the next launch.
      expect('failure' in t && t.failure === undefined).toBe(true);
    }
  });

  it("failed provisioning terminates the VMM and its exit reports cloud-init's error", () => {
    const t = expectTransition(transition(at('starting'), EVENTS['provisioning-failed']));
    expect(t).toMatchObject({ state: 'starting', failure: 'cloud-init reported errors: runcmd failed' });
    expect(t.journal).toEqual({ event: 'provisioning-failed', message: 'cloud-init reported errors: runcmd failed' });
    const exit = expectTransition(transition(at('starting', { failure: t.failure }), EVENTS.crash));
    expect(exit).toMatchObject({ state: 'failed', reason: 'cloud-init reported errors: runcmd failed' });
    // Running before cloud-init's last stage ended: a late error fails it all the same.
    const late = expectTransition(transition(at('running'), EVENTS['provisioning-failed']));
    expect(late).toMatchObject({ state: 'running', failure: 'cloud-init reported errors: runcmd failed' });
    expect(late.effects).toEqual(['terminate']);
    const lateExit = expectTransition(transition(at('running', { failure: late.failure }), EVENTS.crash));
    expect(lateExit).toMatchObject({ state: 'failed', reason: 'cloud-init reported errors: runcmd failed' });
    // Once it is stopping or gone, a report changes nothing.
    expect(expectTransition(transition(at('stopping'), EVENTS['provisioning-failed'])).effects).toEqual([]);
  });

  it('a failed clone powers the sound guest off with the button, and ends it after the stop timeout', () => {
    const event = {
      type: 'provisioning-failed',
      reason: 'the repository could not be cloned: auth',
      gracefully: true,
    } as const;
    const t = expectTransition(transition(at('starting'), event));
    expect(t).toMatchObject({ state: 'starting', failure: event.reason, effects: ['power-button', 'arm-stop-timer'] });
    // The guest ignored the button: ended like a stop that timed out.
    expect(
      expectTransition(transition(at('starting', { failure: t.failure }), { type: 'stop-timeout' })).effects,
    ).toEqual(['terminate']);
    const off = expectTransition(
      transition(at('starting', { failure: t.failure }), { type: 'vmm-exited', poweredOff: true, text: 'powered off' }),
    );
    expect(off).toMatchObject({ state: 'failed', reason: event.reason });
  });

  it('a create that was asked not to start ends stopped', () => {
    const t = expectTransition(transition(at('creating', { desired: 'stopped' }), EVENTS.created));
    expect(t).toMatchObject({ state: 'stopped', effects: [] });
  });

  it('start, stop and created clear the old reason; stop journals how it stops', () => {
    expect(expectTransition(transition(at('failed'), EVENTS.start)).reason).toBeNull();
    expect(expectTransition(transition(at('running'), EVENTS.stop)).journal?.message).toContain('power button');
    expect(expectTransition(transition(at('running'), EVENTS['stop --force'])).journal?.message).toContain('forced');
    expect(expectTransition(transition(at('creating'), EVENTS.created)).reason).toBeNull();
  });

  it('an interrupted create is failed, saying why', () => {
    const t = expectTransition(transition(at('creating'), EVENTS['recovered (gone)']));
    expect(t.reason).toContain('hearthd stopped while creating');
  });
});

const recovered = (vmmAlive: boolean, mayAutostart: boolean): LifecycleEvent => ({
  type: 'recovered',
  vmmAlive,
  vmmRecorded: true,
  mayAutostart,
});

describe('autostart, at hearthd start', () => {
  const meant = { desired: 'running', autostart: true } as const;

  // [from, autostart/desired, VMM alive, admitted, to, effects]
  // prettier-ignore
  const rows: [EnvironmentState, Partial<LifecycleState>, boolean, boolean, EnvironmentState, string][] = [
    ['stopped',  meant,                                       false, true,  'starting', 'release launch'],
    ['failed',   meant,                                       false, true,  'starting', 'release launch'],
    ['running',  meant,                                       false, true,  'starting', 'release launch'],
    ['starting', meant,                                       false, true,  'starting', 'release launch'],
    ['running',  meant,                                       true,  true,  'running',  'reattach'],
    ['stopped',  meant,                                       true,  true,  'stopped',  'kill release'],
    ['stopping', { autostart: true },                         false, true,  'stopped',  'release'],
    ['stopped',  meant,                                       false, false, 'stopped',  'release'],
    ['running',  meant,                                       false, false, 'failed',   'release'],
    ['stopped',  { desired: 'running', autostart: false },    false, true,  'stopped',  'release'],
    ['running',  { autostart: false },                        false, true,  'failed',   'release'],
    ['stopped',  { desired: 'stopped', autostart: true },     false, true,  'stopped',  'release'],
    ['creating', meant,                                       false, true,  'failed',   'release'],
    ['deleting', { desired: 'running', autostart: true },     false, true,  'deleting', 'remove'],
  ];

  it.each(rows)('%s %j, VMM alive %s, admitted %s → %s [%s]', (from, more, alive, may, to, fx) => {
    const t = expectTransition(transition(at(from, more), recovered(alive, may)));
    expect(t.state).toBe(to);
    expect(t.effects).toEqual(effects(fx));
    expect(t.desired).toBeUndefined();
    if (fx.includes('launch')) expect(t).toMatchObject({ reason: null, journal: { event: 'autostart' } });
  });
});

describe('the timestamps a transition stamps (reconciler)', () => {
  const old = '2020-01-01T00:00:00.000Z';
  const status = () => ({ startedAt: old, readyAt: old, stoppedAt: old });

  it('a launch from starting (autostart after a restart) starts the boot clock again', () => {
    const t = expectTransition(transition(at('starting', { autostart: true }), recovered(false, true)));
    expect(t.effects).toContain('launch');
    const s = status();
    stamp(s, 'starting', t.state, t.effects.includes('launch'));
    expect(s.startedAt).not.toBe(old);
    expect(s.readyAt).toBeNull();
  });

  it('no change of state and no launch leaves them alone; stopping records when', () => {
    const s = status();
    stamp(s, 'running', 'running');
    expect(s).toEqual(status());
    stamp(s, 'running', 'stopped');
    expect(s.stoppedAt).not.toBe(old);
  });
});

describe('a launch interrupted before its VMM ran', () => {
  it('is failed with a reason that says so, and not relaunched', () => {
    const t = expectTransition(
      transition(at('starting'), { type: 'recovered', vmmAlive: false, vmmRecorded: false, mayAutostart: false }),
    );
    expect(t).toMatchObject({ state: 'failed', reason: expect.stringContaining('before its VMM ran') });
    expect(t.effects).not.toContain('launch');
    expect(t.desired).toBeUndefined();
  });
});
