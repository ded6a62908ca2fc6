import { describe, expect, it } from 'vitest';
import { createTrails, unwrapLon } from '../src/render/trails.js';

describe('trails', () => {
  it('keeps vertices at least minIntervalMs apart; newer fixes move the head', () => {
    const t = createTrails({ points: 10, seconds: 600, minIntervalMs: 1000 });
    t.record(0, 0, 0, 0);
    t.record(0, 1, 0, 1000);
    t.record(0, 1.5, 0, 1500);
    t.record(0, 2, 0, 1800);
    const s = t.segments(() => [10, 20, 30]);
    // Vertices at 0 and 1000 ms stay; 1500 was the head until 1800 replaced it (< 1 s after 1000).
    expect(s.length).toBe(2);
    expect([...s.sources]).toEqual([0, 0, 1, 0]);
    expect([...s.targets]).toEqual([1, 0, 2, 0]);
    expect([...s.colors.slice(0, 3)]).toEqual([10, 20, 30]);
  });

  it('caps the number of vertices and their age', () => {
    const t = createTrails({ points: 3, seconds: 10, minIntervalMs: 0 });
    for (let i = 0; i < 10; i += 1) t.record(0, i, 0, i * 1000);
    expect(t.segments(() => [0, 0, 0]).length).toBe(2);
    t.record(0, 20, 0, 60_000);
    expect(t.segments(() => [0, 0, 0]).length).toBe(0);
  });

  it('crosses the antimeridian into the next world copy', () => {
    expect(unwrapLon(-179, 179)).toBe(181);
    const t = createTrails({ minIntervalMs: 0 });
    t.record(0, 179, 0, 0);
    t.record(0, -179, 0, 1000);
    expect([...t.segments(() => [0, 0, 0]).targets]).toEqual([181, 0]);
  });

  it('forgets dropped slots and everything on clear; disabled with points = 0', () => {
    const t = createTrails({ minIntervalMs: 0 });
    t.record(0, 0, 0, 0);
    t.record(1, 0, 0, 0);
    t.drop(0);
    expect(t.size).toBe(1);
    t.clear();
    expect(t.size).toBe(0);
    const off = createTrails({ points: 0 });
    off.record(0, 0, 0, 0);
    expect(off.enabled).toBe(false);
    expect(off.size).toBe(0);
  });
});
