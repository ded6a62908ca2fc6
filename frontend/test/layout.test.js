import { describe, expect, it } from 'vitest';
import { mapPadding } from '../src/ui/layout.js';

const rect = (left, top, width, height) => ({ left, top, width, height, right: left + width, bottom: top + height });

describe('mapPadding', () => {
  it('keeps the left panel and the details panel out of the fitted area on a desktop', () => {
    expect(mapPadding({ width: 1280, height: 800, panel: rect(12, 12, 300, 700), details: rect(934, 12, 290, 240), narrow: false })).toEqual({
      top: 40,
      bottom: 40,
      left: 352,
      right: 386,
    });
    expect(mapPadding({ width: 1280, height: 800, panel: rect(12, 12, 300, 700), details: null, narrow: false }).right).toBe(40);
  });

  it('keeps the bottom sheet out on a phone', () => {
    const pad = mapPadding({ width: 390, height: 844, panel: rect(0, 440, 390, 404), details: null, narrow: true });
    expect(pad).toEqual({ top: 40, bottom: 444, left: 40, right: 40 });
  });

  it('never pads more than 70 % of the map', () => {
    const pad = mapPadding({ width: 400, height: 300, panel: rect(0, 0, 390, 300), details: rect(10, 0, 390, 300), narrow: false });
    expect(pad.left + pad.right).toBeLessThanOrEqual(280);
    const phone = mapPadding({ width: 390, height: 300, panel: rect(0, 10, 390, 290), details: null, narrow: true });
    expect(phone.top + phone.bottom).toBeLessThanOrEqual(210);
  });
});
