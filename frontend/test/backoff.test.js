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

  it('uses full jitter: anywhere from 0 to the nominal delay', () => {
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 0)).toBe(0);
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 0.999999)).toBe(500);
    expect(backoffDelay(3, DEFAULT_BACKOFF, () => 0.25)).toBe(1000);
    expect(backoffDelay(20, DEFAULT_BACKOFF, () => 0.1)).toBe(3000);
  });

  it('spreads a crowd of clients over the whole window, not a ±20 % band', () => {
    let seed = 1;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const delays = Array.from({ length: 1000 }, () => backoffDelay(20, DEFAULT_BACKOFF, random));
    expect(Math.max(...delays)).toBeLessThanOrEqual(30000);
    expect(delays.filter((d) => d < 24000).length).toBeGreaterThan(600);
    expect(delays.filter((d) => d < 6000).length).toBeGreaterThan(100);
  });

  it('accepts custom options', () => {
    expect(backoffSchedule(4, { initialMs: 10, factor: 3, maxMs: 100 })).toEqual([10, 30, 90, 100]);
    expect(backoffDelay(2, { initialMs: 10, factor: 3, maxMs: 100 }, () => 0.5)).toBe(45);
  });
});
