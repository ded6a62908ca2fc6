import { describe, expect, it } from 'vitest';
import { binDensity, DENSITY_COLORS, densityLevel } from '../src/render/density.js';

describe('density grid', () => {
  it('picks cells of 16 to 32 pixels for the zoom', () => {
    // 2^(zoom + 9) pixels per world width / 2^level cells.
    for (const zoom of [3, 8.5, 11.5, 14.99]) {
      const px = 2 ** (zoom + 9) / 2 ** densityLevel(zoom);
      expect(px).toBeGreaterThanOrEqual(16);
      expect(px).toBeLessThan(32);
    }
  });

  it('counts vehicles per cell, ignores free slots, and puts each cell where its vehicles are', () => {
    const positions = new Float32Array([2.35, 48.85, 2.3501, 48.8501, 2.3502, 48.8502, 0, 0, -73.98, 40.75]);
    const weights = new Float32Array([1, 1, 1, 0, 1]);
    const cells = binDensity(positions, weights, 5, 16);
    expect(cells.length).toBe(2);
    const paris = [...cells.counts].indexOf(3);
    expect(paris).toBeGreaterThanOrEqual(0);
    expect(cells.positions[2 * paris]).toBeCloseTo(2.35, 2);
    expect(cells.positions[2 * paris + 1]).toBeCloseTo(48.85, 2);
    expect(cells.max).toBe(3);
    // The fullest cell gets the hottest colour; half a cell in common units (512 per world).
    expect([...cells.colors.slice(4 * paris, 4 * paris + 4)]).toEqual(DENSITY_COLORS.at(-1));
    expect(cells.halfSize).toBe(256 / 2 ** 16);
  });

  it('gives the same cells with vehicles spread over the world as in one city', () => {
    const positions = new Float32Array([-170, -60, 170, 70, 170.00001, 70.00001]);
    const cells = binDensity(positions, new Float32Array([1, 1, 1]), 3, 20);
    expect([...cells.counts].sort()).toEqual([1, 2]);
  });

  it('handles an empty fleet', () => {
    expect(binDensity(new Float32Array(0), new Float32Array(0), 0, 10).length).toBe(0);
  });
});
