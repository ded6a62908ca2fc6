import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, backoffDelay, backoffSchedule, nominalDelay } from '../src/lib/backoff.js';

describe('reconnect backoff', () => {
  it('doubles from 500 ms up to the 30 s cap', () => {
    expect(backoffSchedule(9)).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('stays capped for huge attempt numbers', () => {
    expect(nominalDelay(10000)).toBe(DEFAULT_BACKOFF.maxMs);
    expect(nominalDelay(-5)).toBe(DEFAULT_BACKOFF.initialMs);
  });

  it('jitters within ±20% and never exceeds the cap', () => {
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 0)).toBe(400);
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 0.999999)).toBe(600);
    expect(backoffDelay(1, DEFAULT_BACKOFF, () => 0.5)).toBe(1000);
    for (let i = 0; i < 50; i += 1) {
      const d = backoffDelay(20, DEFAULT_BACKOFF, Math.random);
      expect(d).toBeGreaterThanOrEqual(24000);
      expect(d).toBeLessThanOrEqual(30000);
    }
  });

  it('accepts custom options', () => {
    expect(backoffSchedule(4, { initialMs: 10, factor: 3, maxMs: 100 })).toEqual([10, 30, 90, 100]);
    expect(backoffDelay(2, { initialMs: 10, factor: 3, maxMs: 100, jitter: 0 })).toBe(90);
  });
});
