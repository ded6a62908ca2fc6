import { describe, expect, it } from 'vitest';
import { SHAPE, sizesForZoom } from '../src/render/vehicle-layer.js';

describe('vehicle layer', () => {
  it('draws markers smaller as the map zooms out, within bounds', () => {
    const z = [4, 10, 11, 12.3, 13, 15, 18].map((zoom) => sizesForZoom(zoom).arrowPixels);
    for (let i = 1; i < z.length; i += 1) expect(z[i]).toBeGreaterThanOrEqual(z[i - 1]);
    expect(z[0]).toBeGreaterThan(3);
    expect(sizesForZoom(15)).toEqual(sizesForZoom(20));
    expect(sizesForZoom(11).arrowPixels).toBeCloseTo(sizesForZoom(15).arrowPixels / 2, 5);
  });

  it('has distinct shape codes, hidden being 0 (a zeroed attribute draws nothing)', () => {
    expect(SHAPE.hidden).toBe(0);
    expect(new Set(Object.values(SHAPE)).size).toBe(4);
  });
});
