// The two clocks' contract: ordering, abort, manual and automatic advance.
import { describe, expect, it } from 'vitest';
import { RealClock, VirtualClock } from '../../src/engine/clock.ts';
import { createRunId } from '../../src/engine/run-id.ts';

describe('VirtualClock', () => {
  it('wakes timers in time order, ties in the order they were set', async () => {
    const clock = new VirtualClock(1_000);
    const woke: string[] = [];
    const at = (name: string, ms: number) => clock.sleep(ms).then(() => woke.push(`${name}@${clock.now()}`));
    await Promise.all([at('c', 300), at('a', 100), at('b1', 200), at('b2', 200), at('zero', 0)]);
    expect(woke).toEqual(['zero@1000', 'a@1100', 'b1@1200', 'b2@1200', 'c@1300']);
  });

  it('does not move time while work is still runnable (microtask chains and immediates)', async () => {
    const clock = new VirtualClock(0);
    const seen: number[] = [];
    const worker = async () => {
      for (let i = 0; i < 3; i++) {
        // A long chain of awaits and an event-loop turn between sleeps: none of it may let time jump.
        for (let k = 0; k < 200; k++) await null;
        await new Promise((r) => setImmediate(r));
        seen.push(clock.now());
        await clock.sleep(10);
      }
    };
    const other = clock.sleep(5).then(() => clock.now());
    await Promise.all([worker(), other]);
    expect(seen).toEqual([0, 10, 20]);
    expect(await other).toBe(5);
  });

  it('rejects an aborted sleep with the signal reason and forgets its timer', async () => {
    const clock = new VirtualClock(0, false);
    const ac = new AbortController();
    const sleeping = clock.sleep(1_000, ac.signal);
    const other = clock.sleep(2_000, ac.signal);
    expect(clock.pending).toBe(2);
    ac.abort(new Error('stop'));
    await expect(sleeping).rejects.toThrow('stop');
    await expect(other).rejects.toThrow('stop');
    expect(clock.pending).toBe(0);
    await expect(clock.sleep(1, ac.signal)).rejects.toThrow('stop');
  });

  it('in manual mode moves only when told: advance and runUntilIdle', async () => {
    const clock = new VirtualClock(0, false);
    const woke: number[] = [];
    void clock.sleep(100).then(() => woke.push(clock.now()));
    void clock.sleep(250).then(() => woke.push(clock.now()));
    await new Promise((r) => setImmediate(r));
    expect(woke).toEqual([]);
    await clock.advance(200);
    expect(woke).toEqual([100]);
    expect(clock.now()).toBe(200);
    await clock.runUntilIdle();
    expect(woke).toEqual([100, 250]);
    expect(clock.now()).toBe(250);
  });
});

describe('RealClock', () => {
  it('rejects with the signal reason when aborted', async () => {
    const clock = new RealClock();
    const ac = new AbortController();
    const sleeping = clock.sleep(60_000, ac.signal);
    ac.abort(new Error('ctrl-c'));
    await expect(sleeping).rejects.toThrow('ctrl-c');
  });
});

describe('createRunId', () => {
  it('names a run by its UTC start time and a random suffix', () => {
    const clock = new VirtualClock(Date.UTC(2026, 10, 22, 22, 5, 1, 123));
    expect(createRunId(clock, () => 'ab12')).toBe('run-20261122-220501-ab12');
    expect(createRunId(clock)).toMatch(/^run-20261122-220501-[0-9a-f]{4}$/);
  });
});
