// Which store slots the vehicle layer draws: only the shown vehicles inside (or near) the view, as
// an element array of slot numbers. On software GL (Mesa llvmpipe) the vertex pipeline otherwise
// runs over every slot, most of them off screen at city zooms (frontend/README.md, "Performance").
// The box is the view's bounding box grown by MARGIN of its size on each side, so small pans and
// zooms need no rebuild; the index is rebuilt when the data changes (a live update or restyle) or
// when the view leaves the box. One pass over the slots' float32 lon/lat, into arrays reused
// between rebuilds. Indexed draws keep picking by slot: gl_VertexID is the index value.

/**
 * Growth of the view's box on each side, as a share of its width and height. 0.25 drew 26k of 100k
 * at the bench's view (11.8k in it) against 17k with 0.1; a rebuild costs ~1-2 ms at 100k.
 */
export const MARGIN = 0.1;
// A box much larger than the view it serves (after zooming in) is rebuilt too.
const MAX_OVERSIZE = 2;

/**
 * The view's bounds [west, south, east, north] grown by `margin` of its size on each side, or null
 * when the grown box spans the whole world (every longitude). West/east may run past ±180.
 */
export function grownBox(bounds, margin = MARGIN) {
  const [west, south, east, north] = bounds;
  if (![west, south, east, north].every(Number.isFinite)) return null;
  const w = Math.max(0, east - west);
  const h = Math.max(0, north - south);
  const grownWest = west - w * margin;
  const grownEast = east + w * margin;
  if (grownEast - grownWest >= 360) return null;
  return [grownWest, Math.max(-90, south - h * margin), grownEast, Math.min(90, north + h * margin)];
}

/** Whether `box` (grownBox's form; null = the whole world) contains the view's bounds. */
export function boxCovers(box, bounds) {
  if (box === null) return true;
  const [west, south, east, north] = bounds;
  if (![west, south, east, north].every(Number.isFinite)) return false;
  if (south < box[1] || north > box[3]) return false;
  // Compare longitudes in the box's frame: shift the view by whole turns to start at or after its west.
  const turns = Math.floor((west - box[0]) / 360);
  return east - 360 * turns <= box[2];
}

/**
 * The box's longitudes as at most two intervals within [-180, 180] (b empty unless the box
 * crosses the antimeridian): [a0, a1, b0, b1].
 */
export function lonIntervals(west, east) {
  const turns = Math.floor((west + 180) / 360);
  const w = west - 360 * turns;
  const e = east - 360 * turns;
  if (e <= 180) return [w, e, Infinity, -Infinity];
  return [w, 180, -180, e - 360];
}

/**
 * Write into `out` the shown slots (shapes > 0) among the first `slots` whose position lies in
 * `box` (null: all of them), in slot order; with `prevPositions` (interpolation) a slot is in when
 * either end of its glide is. Returns how many were written.
 */
export function collectInBox(positions, shapes, slots, box, out, prevPositions = null) {
  let count = 0;
  if (box === null) {
    for (let slot = 0; slot < slots; slot += 1) if (shapes[slot] >= 0.5) out[count++] = slot;
    return count;
  }
  const [, south, , north] = box;
  const [a0, a1, b0, b1] = lonIntervals(box[0], box[2]);
  // Branch-free tests (slot written always, kept by advancing count): vehicles in and out of the
  // box are interleaved in slot order, and mispredicted branches cost more than the comparisons.
  if (prevPositions === null) {
    for (let slot = 0; slot < slots; slot += 1) {
      const lon = positions[2 * slot];
      const lat = positions[2 * slot + 1];
      const inside = (lat >= south) & (lat <= north) & (((lon >= a0) & (lon <= a1)) | ((lon >= b0) & (lon <= b1)));
      out[count] = slot;
      count += inside & (shapes[slot] >= 0.5);
    }
    return count;
  }
  for (let slot = 0; slot < slots; slot += 1) {
    const lon = positions[2 * slot];
    const lat = positions[2 * slot + 1];
    const prevLon = prevPositions[2 * slot];
    const prevLat = prevPositions[2 * slot + 1];
    const inside = (lat >= south) & (lat <= north) & (((lon >= a0) & (lon <= a1)) | ((lon >= b0) & (lon <= b1)));
    const wasInside = (prevLat >= south) & (prevLat <= north) & (((prevLon >= a0) & (prevLon <= a1)) | ((prevLon >= b0) & (prevLon <= b1)));
    out[count] = slot;
    count += (inside | wasInside) & (shapes[slot] >= 0.5);
  }
  return count;
}

/**
 * The element array of the vehicle layer. `update(bounds, data, revision)` rebuilds it when
 * `revision` (bumped by every data change) differs from the last build's, or when the view's
 * `bounds` left the box or the box is more than MAX_OVERSIZE times the grown view; it returns
 * whether the index changed. data: {positions, shapes, slots, prevPositions?}.
 */
export function createInViewIndex({ margin = MARGIN } = {}) {
  let indices = new Uint32Array(0);
  let count = 0;
  let box = null;
  let revision = null;
  let builds = 0;

  function oversized(grown) {
    if (box === null) return grown !== null;
    if (grown === null) return false;
    return box[2] - box[0] > MAX_OVERSIZE * (grown[2] - grown[0]) || box[3] - box[1] > MAX_OVERSIZE * (grown[3] - grown[1]);
  }

  return {
    update(bounds, { positions, shapes, slots, prevPositions = null }, dataRevision) {
      const grown = grownBox(bounds, margin);
      if (revision !== null && dataRevision === revision && boxCovers(box, bounds) && !oversized(grown)) return false;
      if (indices.length < slots) indices = new Uint32Array(Math.max(slots, 2 * indices.length));
      box = grown;
      revision = dataRevision;
      count = slots > 0 ? collectInBox(positions, shapes, slots, box, indices, prevPositions) : 0;
      builds += 1;
      return true;
    },
    /** Forget the last build: the next update rebuilds. */
    invalidate() {
      revision = null;
    },
    /** The slot numbers to draw: the first `count` entries of `indices`. */
    get indices() {
      return indices;
    },
    get count() {
      return count;
    },
    /** The box of the last build ([w, s, e, n], null = the whole world). */
    get box() {
      return box;
    },
    /** Rebuilds so far. */
    get builds() {
      return builds;
    },
  };
}
