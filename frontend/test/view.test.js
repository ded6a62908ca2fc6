import { describe, expect, it } from 'vitest';
import { relayBbox, shouldAggregate } from '../src/render/view.js';

describe('relayBbox', () => {
  it('grows the view by the margin', () => {
    expect(relayBbox([2, 48, 3, 49], 0.1)).toEqual([1.9, 47.9, 3.1, 49.1]);
  });

  it('sends a box crossing the antimeridian as west > east, never "everything"', () => {
    expect(relayBbox([170, -10, 190, 10], 0)).toEqual([170, -10, -170, 10]);
    expect(relayBbox([-190, -10, -170, 10], 0)).toEqual([170, -10, -170, 10]);
  });

  it('returns null only when the view spans the whole world', () => {
    expect(relayBbox([-200, -80, 200, 80], 0)).toBeNull();
    expect(relayBbox([-179, -80, 179, 80], 0.1)).toBeNull();
    expect(relayBbox([-179, -80, 179, 80], 0)).toEqual([-179, -80, 179, 80]);
  });

  it('clamps latitudes and rejects bad input', () => {
    expect(relayBbox([0, -89, 10, 89], 0.1)).toEqual([-1, -90, 11, 90]);
    expect(relayBbox(null)).toBeNull();
    expect(relayBbox([0, 0, 0, 1])).toBeNull();
    expect(relayBbox([0, 0, Number.NaN, 1])).toBeNull();
  });
});

describe('shouldAggregate', () => {
  it('draws a density grid only for many vehicles in a zoomed-out view', () => {
    const opts = { aggregateAbove: 20000, aggregateBelowZoom: 12 };
    expect(shouldAggregate(100000, 10, opts)).toBe(true);
    expect(shouldAggregate(100000, 13, opts)).toBe(false);
    expect(shouldAggregate(1000, 3, opts)).toBe(false);
    expect(shouldAggregate(20001, 11.9)).toBe(true);
  });
});
