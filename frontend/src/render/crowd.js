// Crowd-aware marker size: when many vehicles are in view, full-size markers pile up many deep
// (unreadable, and every hidden layer is still shaded). The markers shrink so that the vehicles in
// view together cover about COVERAGE times the viewport's area, never below a legible minimum;
// a sparse view keeps the full size (sizesForZoom).

import { lonIntervals } from './in-view-index.js';

/** Target total marker area (the squares holding the markers) as a multiple of the viewport area. */
export const COVERAGE = 1;
/** Legible minimum: arrow half-length 2.5 px (an arrow ~5 px long), dot radius 2 px (a 4 px dot). */
export const MIN_ARROW_PIXELS = 2.5;
export const MIN_DOT_PIXELS = 2;
// The scale moves in steps of 1/16 so that small changes in the count do not re-create the layer.
const SCALE_STEPS = 16;

/**
 * Number of shown slots (shape > 0) whose float32 lon/lat `positions` lie in `bounds`
 * [west, south, east, north] (west/east may run past ±180 when the view crosses the antimeridian).
 */
export function countInBounds(positions, shapes, slots, bounds) {
  const [west, south, east, north] = bounds;
  const wholeWorld = east - west >= 360;
  const [a0, a1, b0, b1] = wholeWorld ? [-Infinity, Infinity, Infinity, -Infinity] : lonIntervals(west, east);
  let count = 0;
  // Branch-free, as in in-view-index.js collectInBox.
  for (let slot = 0; slot < slots; slot += 1) {
    const lon = positions[2 * slot];
    const lat = positions[2 * slot + 1];
    const inside = (lat >= south) & (lat <= north) & (((lon >= a0) & (lon <= a1)) | ((lon >= b0) & (lon <= b1)));
    count += inside & (shapes[slot] >= 0.5);
  }
  return count;
}

/**
 * Marker sizes for `inView` vehicles in a viewport of `viewportArea` CSS px², from the zoom's full
 * sizes `base` ({ arrowPixels, dotPixels }): scaled by sqrt(COVERAGE * area / (inView * (2 *
 * arrowPixels)²)) rounded down to 1/16, capped at 1, floored at the legible minimum.
 */
export function crowdSizes(base, inView, viewportArea, { coverage = COVERAGE } = {}) {
  const footprint = (2 * base.arrowPixels) ** 2;
  let scale = 1;
  if (inView > 0 && viewportArea > 0) {
    const exact = Math.sqrt((coverage * viewportArea) / (inView * footprint));
    scale = Math.min(1, Math.floor(exact * SCALE_STEPS) / SCALE_STEPS);
  }
  return {
    arrowPixels: Math.max(Math.min(base.arrowPixels, MIN_ARROW_PIXELS), base.arrowPixels * scale),
    dotPixels: Math.max(Math.min(base.dotPixels, MIN_DOT_PIXELS), base.dotPixels * scale),
    scale,
  };
}
