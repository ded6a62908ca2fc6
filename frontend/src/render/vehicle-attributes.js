// GPU attribute arrays of the live vehicles (vehicle-layer.js), one vertex per store slot. The
// arrays are allocated once per store capacity and written in place: a frame rewrites only the
// slots it carries and allocates nothing. An attribute whose array was written since the last
// `descriptors()` gets a new wrapper object (deck.gl compares wrappers by identity and uploads the
// array); the others keep theirs and are not uploaded. A move touches positions and angles only;
// colours and shapes are uploaded when a vehicle arrives, leaves or changes live/stale/offline.

import { SHAPE } from './vehicle-layer.js';

const STALE_ALPHA = 110;
const OFFLINE_COLOR = [150, 150, 150, 230];
// Interpolation: glide over the gap between two fixes, at most this long; a longer gap snaps.
const MAX_GLIDE_S = 2;
const SIZES = { positions: 2, prevPositions: 2, times: 2, angles: 1, colors: 4, shapes: 1, weights: 1 };
const STYLE_ATTRIBUTES = ['colors', 'shapes', 'weights'];
const ATTRIBUTES = Object.keys(SIZES);
// The uploaded length grows in steps of this many slots (fewer GPU buffer reallocations).
const EXPOSE_STEP = 4096;

/** Event-time cutoffs of the store's live/stale/offline thresholds at `serverNow` (null: all live). */
function stateCutoffs(store, serverNow) {
  if (serverNow === null || serverNow === undefined) return null;
  const { staleSeconds, offlineSeconds } = store.thresholds;
  return { stale: serverNow - staleSeconds * 1000, offline: serverNow - offlineSeconds * 1000 };
}

/** 0 live, 1 stale, 2 offline: vehicle-store.js stateIndexForAge, with the cutoffs computed once. */
function stateOf(ts, cutoffs) {
  if (cutoffs === null || ts >= cutoffs.stale) return 0;
  return ts >= cutoffs.offline ? 1 : 2;
}

// Seconds since the page started: `times` are float32 on the GPU, so they must stay small numbers.
const pageSeconds = () => performance.now() / 1000;

export function createVehicleAttributes({ interpolate = false, clock = pageSeconds } = {}) {
  let capacity = 0;
  let arrays = null;
  let stateBySlot = null;
  let lastTs = null;
  const wrappers = {};
  const dirty = new Set(ATTRIBUTES);
  // Interpolation: the latest end of a glide (seconds on `clock`), so the renderer knows how long to animate.
  let animateUntil = 0;
  let lastExposed = -1;

  function allocate(n) {
    capacity = n;
    arrays = {
      positions: new Float32Array(2 * n),
      prevPositions: interpolate ? new Float32Array(2 * n) : null,
      times: interpolate ? new Float32Array(2 * n) : null,
      angles: new Float32Array(n),
      colors: new Uint8Array(4 * n),
      shapes: new Float32Array(n),
      // Density grid: 1 per vehicle shown, 0 for a free slot.
      weights: new Float32Array(n),
    };
    stateBySlot = new Uint8Array(n);
    lastTs = interpolate ? new Float64Array(n) : null;
    for (const key of ATTRIBUTES) dirty.add(key);
  }

  function writeStyle(slot, rgb, stateIndex, hasHeading) {
    const c = arrays.colors;
    const i4 = 4 * slot;
    if (stateIndex === 2) {
      arrays.shapes[slot] = SHAPE.ring;
      c[i4] = OFFLINE_COLOR[0];
      c[i4 + 1] = OFFLINE_COLOR[1];
      c[i4 + 2] = OFFLINE_COLOR[2];
      c[i4 + 3] = OFFLINE_COLOR[3];
    } else {
      arrays.shapes[slot] = hasHeading ? SHAPE.arrow : SHAPE.dot;
      c[i4] = (rgb >> 16) & 255;
      c[i4 + 1] = (rgb >> 8) & 255;
      c[i4 + 2] = rgb & 255;
      c[i4 + 3] = stateIndex === 1 ? STALE_ALPHA : 255;
    }
    arrays.weights[slot] = 1;
    stateBySlot[slot] = stateIndex;
  }

  function hide(slot) {
    arrays.shapes[slot] = SHAPE.hidden;
    arrays.colors[4 * slot + 3] = 0;
    arrays.weights[slot] = 0;
  }

  function writePosition(slot, lon, lat, ts, isNew, nowS) {
    const p = arrays.positions;
    const i2 = 2 * slot;
    if (interpolate) {
      const prev = arrays.prevPositions;
      const times = arrays.times;
      const gapS = (ts - lastTs[slot]) / 1000;
      if (isNew || !(gapS > 0) || gapS > MAX_GLIDE_S) {
        prev[i2] = lon;
        prev[i2 + 1] = lat;
        times[i2] = nowS;
        times[i2 + 1] = nowS;
      } else {
        // Start from where the vehicle is drawn now, reach the new fix one gap later.
        const t0 = times[i2];
        const t1 = times[i2 + 1];
        const f = t1 > t0 ? Math.min(1, Math.max(0, (nowS - t0) / (t1 - t0))) : 1;
        prev[i2] = prev[i2] + (p[i2] - prev[i2]) * f;
        prev[i2 + 1] = prev[i2 + 1] + (p[i2 + 1] - prev[i2 + 1]) * f;
        times[i2] = nowS;
        times[i2 + 1] = nowS + gapS;
        if (nowS + gapS > animateUntil) animateUntil = nowS + gapS;
      }
      lastTs[slot] = ts;
    }
    p[i2] = lon;
    p[i2 + 1] = lat;
  }

  /** Write one slot; returns true when its style (shape, colour, visibility) changed. */
  function writeSlot(store, slot, cutoffs, nowS, snap) {
    const { lon, lat, ts, heading, alive, color } = store.columns;
    if (!alive[slot]) {
      hide(slot);
      return true;
    }
    const isNew = arrays.shapes[slot] === SHAPE.hidden;
    writePosition(slot, lon[slot], lat[slot], ts[slot], isNew || snap, nowS);
    const h = heading[slot];
    const hasHeading = !Number.isNaN(h);
    arrays.angles[slot] = hasHeading ? h : 0;
    const state = stateOf(ts[slot], cutoffs);
    const shape = state === 2 ? SHAPE.ring : hasHeading ? SHAPE.arrow : SHAPE.dot;
    if (!isNew && state === stateBySlot[slot] && shape === arrays.shapes[slot]) return false;
    writeStyle(slot, color[slot], state, hasHeading);
    return true;
  }

  const attributes = {
    get capacity() {
      return capacity;
    },
    get arrays() {
      return arrays;
    },
    get interpolate() {
      return interpolate;
    },
    /** Seconds on `clock` until which some vehicle is still gliding (interpolation). */
    get animateUntil() {
      return animateUntil;
    },
    /** Seconds on the clock the `times` attribute is written in. */
    now() {
      return clock();
    },
    /** Rewrite every slot (first use, or the store reallocated its columns). */
    syncAll(store, serverNow) {
      if (capacity !== store.capacity) allocate(store.capacity);
      const { alive } = store.columns;
      const nowS = clock();
      const cutoffs = stateCutoffs(store, serverNow);
      for (let slot = 0; slot < capacity; slot += 1) {
        if (alive[slot]) writeSlot(store, slot, cutoffs, nowS, true);
        else hide(slot);
      }
      for (const key of ATTRIBUTES) dirty.add(key);
    },
    /** Rewrite the given slots after an upsert; colours and shapes are re-uploaded only if a style changed. */
    syncSlots(store, slots, serverNow) {
      if (capacity !== store.capacity) {
        attributes.syncAll(store, serverNow);
        return;
      }
      const nowS = clock();
      const cutoffs = stateCutoffs(store, serverNow);
      let styleChanged = false;
      for (let i = 0; i < slots.length; i += 1) {
        if (writeSlot(store, slots[i], cutoffs, nowS, false)) styleChanged = true;
      }
      if (slots.length > 0) {
        dirty.add('positions');
        dirty.add('angles');
        if (interpolate) {
          dirty.add('prevPositions');
          dirty.add('times');
        }
      }
      if (styleChanged) for (const key of STYLE_ATTRIBUTES) dirty.add(key);
    },
    /** Hide removed slots (their ids are gone; the store already cleared `alive`). */
    hideSlots(slots) {
      for (const slot of slots) if (slot < capacity) hide(slot);
      if (slots.length > 0) for (const key of STYLE_ATTRIBUTES) dirty.add(key);
    },
    /** Re-evaluate live/stale/offline of every vehicle as time passes; true when any slot changed. */
    restyle(store, serverNow) {
      if (serverNow === null || capacity === 0) return false;
      const { alive, heading, color, ts } = store.columns;
      const cutoffs = stateCutoffs(store, serverNow);
      let changed = false;
      const n = Math.min(capacity, store.highWater);
      for (let slot = 0; slot < n; slot += 1) {
        if (!alive[slot]) continue;
        const s = stateOf(ts[slot], cutoffs);
        if (s !== stateBySlot[slot]) {
          writeStyle(slot, color[slot], s, !Number.isNaN(heading[slot]));
          changed = true;
        }
      }
      if (changed) for (const key of STYLE_ATTRIBUTES) dirty.add(key);
      return changed;
    },
    /**
     * deck.gl binary attributes; new wrappers only for changed arrays. Only the first `count` slots
     * (the store's high-water mark, rounded up) are uploaded: a reserved but unused capacity costs nothing.
     */
    descriptors(count = capacity) {
      const exposed = Math.min(capacity, Math.ceil(count / EXPOSE_STEP) * EXPOSE_STEP);
      if (exposed !== lastExposed) {
        lastExposed = exposed;
        for (const key of ATTRIBUTES) dirty.add(key);
      }
      for (const key of dirty) {
        if (!arrays[key]) continue;
        const d = { value: arrays[key].subarray(0, exposed * SIZES[key]), size: SIZES[key] };
        if (key === 'colors') d.normalized = true;
        wrappers[key] = d;
      }
      dirty.clear();
      return wrappers;
    },
    get dirty() {
      return new Set(dirty);
    },
  };
  return attributes;
}
