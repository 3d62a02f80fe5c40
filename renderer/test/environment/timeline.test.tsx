// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { parseTimeline, toneOf } from '../../src/features/environment/timeline.js';

const line = (event: string, message: string, time = '2025-05-01T10:00:00.000Z') =>
  JSON.stringify({ time, event, message });

describe('status timeline from the event log', () => {
  it('reads NDJSON entries in order', () => {
    const { entries, skipped } = parseTimeline([
      line('created', 'disk made'),
      line('vmm-launched', 'qemu 7.2.0 started as pid 12', '2025-05-01T10:00:01.000Z'),
      line('ready', 'guest printed its ready marker', '2025-05-01T10:00:03.000Z'),
    ]);
    expect(skipped).toBe(0);
    expect(entries.map((e) => e.event)).toEqual(['created', 'vmm-launched', 'ready']);
  });

  it('skips lines that are not entries instead of failing the page', () => {
    const { entries, skipped } = parseTimeline([
      line('created', 'disk made'),
      '{"time":"2025-05-01T10:00:00.000Z","event":"cut in the midd',
      'not json at all',
      JSON.stringify({ time: 'yesterday', event: 'x', message: 'bad time' }),
      JSON.stringify({ time: '2025-05-01T10:00:00.000Z', event: 'x' }),
      JSON.stringify({ time: '2025-05-01T10:00:00.000Z', event: 'x', message: 'm', extra: 1 }),
      'null',
      '[]',
      '',
      line('ready', 'up'),
    ]);
    expect(entries.map((e) => e.event)).toEqual(['created', 'ready']);
    expect(skipped).toBe(7);
  });

  it('marks failures, readiness and requests apart', () => {
    const at = '2025-05-01T10:00:00.000Z';
    expect(toneOf({ time: at, event: 'ready', message: '' })).toBe('pass');
    expect(toneOf({ time: at, event: 'launch-failed', message: '' })).toBe('fail');
    expect(toneOf({ time: at, event: 'exited', message: 'VMM exited with code 1; now failed: crashed' })).toBe('fail');
    expect(toneOf({ time: at, event: 'exited', message: 'guest powered off; now stopped: asked' })).toBe('idle');
    expect(toneOf({ time: at, event: 'stop-requested', message: '' })).toBe('info');
  });
});
