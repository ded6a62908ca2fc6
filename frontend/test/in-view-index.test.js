import { describe, expect, it } from 'vitest';
import { slotData } from './support/slots.js';
import { MARGIN, boxCovers, collectInBox, createInViewIndex, grownBox, lonIntervals } from '../src/render/in-view-index.js';


const collect = (data, box, prevPositions = null) => {
  const out = new Uint32Array(data.slots);
  const n = collectInBox(data.positions, data.shapes, data.slots, box, out, prevPositions);
  return Array.from(out.subarray(0, n));
};

describe('grownBox and boxCovers', () => {
  it('grows the view by the margin on each side and covers views inside it', () => {
    expect(grownBox([2, 48, 3, 49], 0.25)).toEqual([1.75, 47.75, 3.25, 49.25]);
    const box = grownBox([2, 48, 3, 49], 0.25);
    expect(MARGIN).toBeGreaterThan(0);
    expect(boxCovers(box, [2, 48, 3, 49])).toBe(true);
    expect(boxCovers(box, [2.2, 48.2, 3.2, 49.2])).toBe(true);
    // Panned past the margin on one side.
    expect(boxCovers(box, [2.3, 48, 3.3, 49])).toBe(false);
    expect(boxCovers(box, [2, 47.7, 3, 48.7])).toBe(false);
  });

  it('is the whole world (null) when the grown box spans every longitude', () => {
    expect(grownBox([-170, -60, 170, 60])).toBeNull();
    expect(boxCovers(null, [-180, -85, 180, 85])).toBe(true);
    expect(grownBox([Number.NaN, 0, 1, 1])).toBeNull();
  });

  it('compares longitudes across the antimeridian by whole turns', () => {
    const box = grownBox([179, -1, 181, 1]);
    expect(boxCovers(box, [-181, -1, -179, 1])).toBe(true);
    expect(boxCovers(box, [539, -1, 541, 1])).toBe(true);
    expect(boxCovers(box, [-179, -1, -177, 1])).toBe(false);
  });
});

describe('lonIntervals', () => {
  it('maps a box to at most two longitude intervals within [-180, 180]', () => {
    expect(lonIntervals(2, 3)).toEqual([2, 3, Infinity, -Infinity]);
    expect(lonIntervals(179, 181)).toEqual([179, 180, -180, -179]);
    expect(lonIntervals(-181, -179)).toEqual([179, 180, -180, -179]);
    expect(lonIntervals(538, 542)).toEqual([178, 180, -180, -178]);
  });
});

describe('collectInBox', () => {
  const data = slotData([[2, 48], [2.5, 48.5], [3.5, 48], [2, 50], [2.2, 48.2]], [4]);

  it('keeps shown slots inside the box, in slot order', () => {
    expect(collect(data, [1.5, 47.5, 3, 49])).toEqual([0, 1]);
    expect(collect(data, null)).toEqual([0, 1, 2, 3]);
  });

  it('keeps vehicles on both sides of the antimeridian', () => {
    const d = slotData([[179.5, 0], [-179.5, 0], [0, 0], [-170, 0]]);
    expect(collect(d, [179, -1, 181, 1])).toEqual([0, 1]);
    expect(collect(d, [-181, -1, -179, 1])).toEqual([0, 1]);
  });

  it('with interpolation, keeps a vehicle when either end of its glide is in the box', () => {
    const d = slotData([[2, 48], [5, 48], [5, 48]]);
    const prev = new Float32Array([2, 48, 2.9, 48.5, 6, 48]);
    expect(collect(d, [1.5, 47.5, 3, 49], prev)).toEqual([0, 1]);
  });
});

describe('createInViewIndex', () => {
  const view = [2, 48, 3, 49];

  it('rebuilds when the data revision changes and reuses its arrays', () => {
    const index = createInViewIndex({ margin: 0.25 });
    const data = slotData([[2.5, 48.5], [10, 10]]);
    expect(index.update(view, data, 1)).toBe(true);
    expect(Array.from(index.indices.subarray(0, index.count))).toEqual([0]);
    const array = index.indices;
    // Same data, same view: nothing to do.
    expect(index.update(view, data, 1)).toBe(false);
    // A vehicle drives into the view: the next live update rebuilds.
    data.positions[2] = 2.6;
    data.positions[3] = 48.6;
    expect(index.update(view, data, 2)).toBe(true);
    expect(Array.from(index.indices.subarray(0, index.count))).toEqual([0, 1]);
    expect(index.indices).toBe(array);
    expect(index.builds).toBe(2);
  });

  it('needs no rebuild for a pan within the margin, and rebuilds when the view leaves the box', () => {
    const index = createInViewIndex({ margin: 0.25 });
    // A vehicle just east of the view (inside the margin) and one far east.
    const data = slotData([[2.5, 48.5], [3.1, 48.5], [4.2, 48.5]]);
    index.update(view, data, 1);
    expect(Array.from(index.indices.subarray(0, index.count))).toEqual([0, 1]);
    expect(index.update([2.1, 48, 3.1, 49], data, 1)).toBe(false);
    // Panned far enough that the far vehicle is on screen: rebuilt, and it is drawn.
    expect(index.update([3.5, 48, 4.5, 49], data, 1)).toBe(true);
    expect(Array.from(index.indices.subarray(0, index.count))).toEqual([2]);
  });

  it('rebuilds a box far larger than the view after zooming in, and grows with the slots', () => {
    const index = createInViewIndex({ margin: 0.25 });
    const data = slotData([[2.5, 48.5], [2.05, 48.05]]);
    index.update([-170, -80, 170, 80], data, 1);
    expect(index.box).toBeNull();
    expect(index.count).toBe(2);
    expect(index.update([2.4, 48.4, 2.6, 48.6], data, 1)).toBe(true);
    expect(Array.from(index.indices.subarray(0, index.count))).toEqual([0]);
    const more = slotData(Array.from({ length: 5000 }, () => [2.5, 48.5]));
    index.update(view, more, 2);
    expect(index.count).toBe(5000);
    index.invalidate();
    expect(index.update(view, more, 2)).toBe(true);
  });
});
