import { describe, expect, it } from 'vitest';
import { slotData } from './support/slots.js';
import { COVERAGE, MIN_ARROW_PIXELS, MIN_DOT_PIXELS, countInBounds, crowdSizes } from '../src/render/crowd.js';
import { sizesForZoom } from '../src/render/vehicle-layer.js';


describe('countInBounds', () => {
  it('counts shown slots inside the box only', () => {
    const { positions, shapes, slots: n } = slotData([[2, 48], [2.5, 48.5], [3.5, 48], [2, 50], [2.2, 48.2]], [4]);
    expect(countInBounds(positions, shapes, n, [1.5, 47.5, 3, 49])).toBe(2);
    // Only the first `slots` slots are looked at.
    expect(countInBounds(positions, shapes, 1, [1.5, 47.5, 3, 49])).toBe(1);
  });

  it('handles a view across the antimeridian and a whole-world view', () => {
    const { positions, shapes, slots: n } = slotData([[179.5, 0], [-179.5, 0], [0, 0]]);
    expect(countInBounds(positions, shapes, n, [179, -1, 181, 1])).toBe(2);
    expect(countInBounds(positions, shapes, n, [-181, -1, -179, 1])).toBe(2);
    expect(countInBounds(positions, shapes, n, [-200, -1, 200, 1])).toBe(3);
  });
});

describe('crowdSizes', () => {
  const base = sizesForZoom(15);
  const area = 1280 * 800;

  it('keeps the full size when the view is sparse', () => {
    for (const count of [0, 1, 20, 500]) expect(crowdSizes(base, count, area)).toEqual({ ...base, scale: 1 });
  });

  it('shrinks crowded views so the markers cover about COVERAGE times the viewport', () => {
    const count = 8000;
    const { arrowPixels, dotPixels, scale } = crowdSizes(base, count, area);
    expect(scale).toBeLessThan(1);
    const covered = (count * (2 * arrowPixels) ** 2) / area;
    expect(covered).toBeLessThanOrEqual(COVERAGE);
    expect(covered).toBeGreaterThan(COVERAGE * 0.8);
    expect(dotPixels / base.dotPixels).toBeCloseTo(arrowPixels / base.arrowPixels, 6);
  });

  it('never goes below the legible minimum, and shrinks monotonically with the count', () => {
    expect(crowdSizes(base, 100000, area)).toMatchObject({ arrowPixels: MIN_ARROW_PIXELS, dotPixels: MIN_DOT_PIXELS });
    let last = Infinity;
    for (const count of [10, 1000, 3000, 10000, 30000, 100000, 1e6]) {
      const { arrowPixels } = crowdSizes(base, count, area);
      expect(arrowPixels).toBeLessThanOrEqual(last);
      expect(arrowPixels).toBeGreaterThanOrEqual(MIN_ARROW_PIXELS);
      last = arrowPixels;
    }
  });

  it('never enlarges a marker already below the minimum', () => {
    const tiny = { arrowPixels: 2, dotPixels: 1.5 };
    expect(crowdSizes(tiny, 1e6, area)).toMatchObject({ arrowPixels: 2, dotPixels: 1.5 });
  });

  it('changes in steps, so a few more vehicles do not change the size', () => {
    expect(crowdSizes(base, 8000, area).arrowPixels).toBe(crowdSizes(base, 8010, area).arrowPixels);
  });
});
