import { describe, expect, it } from 'vitest';
import { createServerClock } from '../src/live/server-clock.js';

describe('server clock', () => {
  it('is unknown until a frame with server_time arrives', () => {
    const clock = createServerClock({ now: () => 0 });
    expect(clock.now()).toBeNull();
    expect(clock.ageMs(1000)).toBeNull();
  });

  it('runs on from the last server_time with the monotonic clock, never the wall clock', () => {
    let mono = 5000;
    const clock = createServerClock({ now: () => mono });
    clock.observe(1_000_000);
    mono += 2500;
    expect(clock.now()).toBe(1_002_500);
    expect(clock.ageMs(990_000)).toBe(12_500);
    clock.observe(2_000_000);
    expect(clock.now()).toBe(2_000_000);
  });

  it('ignores values that are not finite numbers', () => {
    const clock = createServerClock({ now: () => 0 });
    clock.observe(10);
    clock.observe(Number.NaN);
    clock.observe('11');
    expect(clock.now()).toBe(10);
  });
});
