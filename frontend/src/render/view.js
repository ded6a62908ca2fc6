// Pure helpers about the map view: the viewport box sent to the relay, and when to aggregate.

/**
 * The box to ask the relay for, from the map's bounds [west, south, east, north] (west/east may
 * run past ±180 when the view crosses the antimeridian), grown by `margin` of its size. Returns
 * [w, s, e, n] with longitudes wrapped to [-180, 180] (w > e means it crosses the antimeridian),
 * or null when the view spans the whole world.
 */
export function relayBbox(bounds, margin = 0.1) {
  if (!Array.isArray(bounds) || bounds.length !== 4 || !bounds.every(Number.isFinite)) return null;
  const [west, south, east, north] = bounds;
  const w = east - west;
  const h = north - south;
  if (!(w > 0) || !(h > 0)) return null;
  const lo = west - w * margin;
  const hi = east + w * margin;
  if (hi - lo >= 360) return null;
  const wrap = (x) => ((((x + 180) % 360) + 360) % 360) - 180;
  const round = (x) => Math.round(x * 1e5) / 1e5;
  let wl = wrap(lo);
  let el = wrap(hi);
  // Keep 180 as the east edge rather than folding it to -180.
  if (el === -180 && hi > lo) el = 180;
  if (wl === 180) wl = -180;
  return [round(wl), round(Math.max(-90, south - h * margin)), round(el), round(Math.min(90, north + h * margin))];
}

/** Draw a density grid instead of one marker per vehicle? Many vehicles and a zoomed-out view. */
export function shouldAggregate(vehicleCount, zoom, { aggregateAbove = 20000, aggregateBelowZoom = 12 } = {}) {
  return vehicleCount > aggregateAbove && zoom < aggregateBelowZoom;
}
