// @vitest-environment jsdom
import { afterEach, describe, expect, it } from 'vitest';
import { applyEnvironmentEvent, HISTORY_LENGTH, useStats } from '../../src/features/environments/stats.js';
import { environmentOf, statsOf } from './fixtures.js';

const A = 'env-00000000000a';
const B = 'env-00000000000b';

describe('stats store', () => {
  afterEach(() => useStats.getState().reset());

  it('keeps the latest sample per environment', () => {
    useStats.getState().record([statsOf(A, 1000, 5), statsOf(B, 1000, 50)]);
    useStats.getState().record([statsOf(A, 3000, 7)]);
    const { latest } = useStats.getState();
    expect(latest[A]?.vmm?.cpuPercent).toBe(7);
    expect(latest[B]?.vmm?.cpuPercent).toBe(50);
  });

  it('ignores a sample older than the one it has (a late endpoint answer)', () => {
    useStats.getState().record([statsOf(A, 5000, 9)]);
    useStats.getState().record([statsOf(A, 4000, 1)]);
    expect(useStats.getState().latest[A]?.vmm?.cpuPercent).toBe(9);
    expect(useStats.getState().history[A]).toHaveLength(1);
  });

  it(`bounds the history to the last ${HISTORY_LENGTH} samples, oldest dropped first`, () => {
    for (let i = 0; i < HISTORY_LENGTH + 15; i++) useStats.getState().record([statsOf(A, i * 2000, i)]);
    const history = useStats.getState().history[A]!;
    expect(history).toHaveLength(HISTORY_LENGTH);
    expect(history[0]!.cpuPercent).toBe(15);
    expect(history.at(-1)!.cpuPercent).toBe(HISTORY_LENGTH + 14);
  });

  it('keeps no history point for a sample without a VMM, but keeps it as latest (its disk)', () => {
    useStats.getState().record([{ ...statsOf(A, 1000), vmm: null, state: 'stopped' }]);
    expect(useStats.getState().latest[A]?.disk.allocatedBytes).toBe(3 * 1024 ** 2);
    expect(useStats.getState().history[A]).toBeUndefined();
  });

  it('clears a deleted environment and only that one', () => {
    useStats.getState().record([statsOf(A, 1000), statsOf(B, 1000)]);
    applyEnvironmentEvent({
      seq: 9,
      time: new Date().toISOString(),
      type: 'environment',
      change: 'deleted',
      environment: environmentOf(A, 'deleting'),
    });
    expect(useStats.getState().latest[A]).toBeUndefined();
    expect(useStats.getState().history[A]).toBeUndefined();
    expect(useStats.getState().latest[B]).toBeDefined();
  });

  it('clears one whose VMM is gone (stopped), keeps one still running', () => {
    useStats.getState().record([statsOf(A, 1000), statsOf(B, 1000)]);
    const event = (id: string, state: 'stopped' | 'running') =>
      ({
        seq: 1,
        time: new Date().toISOString(),
        type: 'environment',
        change: 'updated',
        environment: environmentOf(id, state),
      }) as const;
    applyEnvironmentEvent(event(A, 'stopped'));
    applyEnvironmentEvent(event(B, 'running'));
    expect(useStats.getState().latest[A]).toBeUndefined();
    expect(useStats.getState().latest[B]).toBeDefined();
  });
});
