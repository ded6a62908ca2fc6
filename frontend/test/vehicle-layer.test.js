import { describe, expect, it } from 'vitest';
import { ARROW, SHAPE, arrowHalfExtent, insideArrow, pointSize, sizesForZoom } from '../src/render/vehicle-layer.js';

const ARROW_OUTLINE = [
  [0, ARROW.tipY],
  [ARROW.backX, ARROW.backY],
  [0, ARROW.notchY],
  [-ARROW.backX, ARROW.backY],
];

// Even-odd point-in-polygon test of the arrow's outline, independent of insideArrow's edge formulas.
function inOutline(x, y) {
  let inside = false;
  for (let i = 0, j = ARROW_OUTLINE.length - 1; i < ARROW_OUTLINE.length; j = i, i += 1) {
    const [xi, yi] = ARROW_OUTLINE[i];
    const [xj, yj] = ARROW_OUTLINE[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

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

  it('cuts exactly the arrow outline out of the point', () => {
    let inside = 0;
    for (let x = -1.2; x <= 1.2; x += 0.037) {
      for (let y = -1.2; y <= 1.2; y += 0.041) {
        expect(insideArrow(x, y), `(${x.toFixed(3)}, ${y.toFixed(3)})`).toBe(inOutline(x, y));
        if (inOutline(x, y)) inside += 1;
      }
    }
    expect(inside).toBeGreaterThan(100);
    expect(insideArrow(0, 0.9)).toBe(true);
    expect(insideArrow(0, -0.6)).toBe(false); // the notch
  });

  it('sizes the point to hold the arrow at every heading, and no larger', () => {
    for (let deg = 0; deg < 360; deg += 7.5) {
      const a = (deg * Math.PI) / 180;
      const dx = Math.sin(a);
      const dy = Math.cos(a);
      const half = arrowHalfExtent(dx, dy);
      // Every outline corner, turned to the heading (x to its right, y along it), is in the square...
      const corners = ARROW_OUTLINE.map(([x, y]) => [x * dy + y * dx, -x * dx + y * dy]);
      const reach = Math.max(...corners.map(([x, y]) => Math.max(Math.abs(x), Math.abs(y))));
      expect(reach).toBeLessThanOrEqual(half + 1e-9);
      // ...and one of them touches its edge.
      expect(reach).toBeCloseTo(half, 9);
    }
    // North-up needs a half side of the tip's length; the worst diagonal heading needs more.
    expect(arrowHalfExtent(0, 1)).toBeCloseTo(1, 9);
    expect(arrowHalfExtent(Math.SQRT1_2, Math.SQRT1_2)).toBeGreaterThan(1.1);
  });

  it('sizes points in whole device pixels and shrinks the marker at the GL limit', () => {
    expect(pointSize(1, 5.5, 1, 255)).toEqual({ side: 11, halfUnits: 1 });
    const hiDpi = pointSize(1.15, 9, 2, 255);
    expect(hiDpi.side).toBe(Math.ceil(2 * 1.15 * 18));
    expect(hiDpi.halfUnits).toBeGreaterThanOrEqual(1.15);
    const capped = pointSize(1.15, 9, 3, 32);
    expect(capped.side).toBe(32);
    expect(capped.halfUnits).toBeCloseTo(1.15, 9);
  });
});

describe('flatPicking', () => {
  it("is deck.gl's picking module with its varying flat (constant over a point)", async () => {
    const { flatPicking } = await import('../src/render/vehicle-layer.js');
    const { picking } = await import('@deck.gl/core');
    expect(flatPicking.name).toBe(picking.name);
    expect(flatPicking.vs).toContain('flat out vec4 picking_vRGBcolor_Avalid');
    expect(flatPicking.fs).toContain('flat in vec4 picking_vRGBcolor_Avalid');
    expect(flatPicking.vs.replace('flat out', 'out')).toBe(picking.vs);
  });
});
