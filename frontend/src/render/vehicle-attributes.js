// GPU attribute arrays of the live vehicles, one instance per store slot. A frame rewrites only
// the slots it carries; an attribute whose arrays were not touched keeps its wrapper object, so
// deck.gl skips it (it compares wrappers by identity), and a touched one gets a new wrapper so
// deck.gl uploads it. Instance count = the store's capacity: dead and hidden slots get size 0.

export const ARROW_SIZE_PX = 18;
export const DOT_RADIUS_PX = 5;
const STALE_ALPHA = 110;
const OFFLINE_COLOR = [150, 150, 150, 230];
const ATTRIBUTES = ['positions', 'angles', 'arrowSizes', 'dotRadii', 'colors', 'lineColors', 'weights'];
const STYLE_ATTRIBUTES = ['arrowSizes', 'dotRadii', 'colors', 'lineColors', 'weights'];

export function createVehicleAttributes() {
  let capacity = 0;
  let arrays = null;
  const wrappers = {};
  const dirty = new Set(ATTRIBUTES);
  let stateBySlot = null;
  let baseColors = null;

  function allocate(n) {
    capacity = n;
    arrays = {
      positions: new Float64Array(2 * n),
      angles: new Float32Array(n),
      arrowSizes: new Float32Array(n),
      dotRadii: new Float32Array(n),
      colors: new Uint8Array(4 * n),
      lineColors: new Uint8Array(4 * n),
      weights: new Float32Array(n),
    };
    baseColors = null;
    stateBySlot = new Uint8Array(n);
    for (const key of ATTRIBUTES) dirty.add(key);
  }

  function writeStyle(slot, stateIndex, hasHeading) {
    const rgb = baseColors[slot];
    const c = arrays.colors;
    const l = arrays.lineColors;
    const i4 = 4 * slot;
    const arrow = hasHeading && stateIndex < 2;
    arrays.arrowSizes[slot] = arrow ? ARROW_SIZE_PX : 0;
    arrays.dotRadii[slot] = arrow ? 0 : DOT_RADIUS_PX;
    if (stateIndex === 2) {
      // Offline: a hollow grey ring.
      c[i4] = OFFLINE_COLOR[0];
      c[i4 + 1] = OFFLINE_COLOR[1];
      c[i4 + 2] = OFFLINE_COLOR[2];
      c[i4 + 3] = 0;
      l.set(OFFLINE_COLOR, i4);
    } else {
      const alpha = stateIndex === 1 ? STALE_ALPHA : 255;
      c[i4] = (rgb >> 16) & 255;
      c[i4 + 1] = (rgb >> 8) & 255;
      c[i4 + 2] = rgb & 255;
      c[i4 + 3] = alpha;
      l[i4] = 255;
      l[i4 + 1] = 255;
      l[i4 + 2] = 255;
      l[i4 + 3] = stateIndex === 1 ? 90 : 200;
    }
    stateBySlot[slot] = stateIndex;
  }

  function hide(slot) {
    arrays.arrowSizes[slot] = 0;
    arrays.dotRadii[slot] = 0;
    arrays.weights[slot] = 0;
    arrays.colors[4 * slot + 3] = 0;
  }

  const attributes = {
    get capacity() {
      return capacity;
    },
    get arrays() {
      return arrays;
    },
    /** Rewrite every slot (first use, or the store reallocated its columns). */
    syncAll(store, serverNow) {
      if (capacity !== store.capacity) allocate(store.capacity);
      const { alive } = store.columns;
      for (let slot = 0; slot < capacity; slot += 1) {
        if (alive[slot]) attributes.writeSlot(store, slot, serverNow);
        else hide(slot);
      }
      for (const key of ATTRIBUTES) dirty.add(key);
    },
    /** Rewrite the given slots after an upsert; style attributes are re-uploaded only if a style changed. */
    syncSlots(store, slots, serverNow) {
      if (capacity !== store.capacity) {
        attributes.syncAll(store, serverNow);
        return;
      }
      let styleChanged = false;
      for (const slot of slots) if (attributes.writeSlot(store, slot, serverNow)) styleChanged = true;
      if (slots.length > 0) {
        dirty.add('positions');
        dirty.add('angles');
      }
      if (styleChanged) for (const key of STYLE_ATTRIBUTES) dirty.add(key);
    },
    /** Write one slot; returns true when its style (size, colour, visibility) changed. */
    writeSlot(store, slot, serverNow) {
      const { lon, lat, heading, alive, color } = store.columns;
      baseColors = color;
      if (!alive[slot]) {
        hide(slot);
        return true;
      }
      arrays.positions[2 * slot] = lon[slot];
      arrays.positions[2 * slot + 1] = lat[slot];
      const h = heading[slot];
      // deck.gl angles are counter-clockwise; headings are clockwise from north.
      arrays.angles[slot] = Number.isNaN(h) ? 0 : -h;
      const state = store.stateIndexOfSlot(slot, serverNow);
      const hasHeading = !Number.isNaN(h);
      const isNew = arrays.weights[slot] === 0;
      const wasArrow = arrays.arrowSizes[slot] > 0;
      if (!isNew && state === stateBySlot[slot] && wasArrow === (hasHeading && state < 2)) return false;
      arrays.weights[slot] = 1;
      writeStyle(slot, state, hasHeading);
      return true;
    },
    /** Hide removed slots (their ids are gone; the store already cleared `alive`). */
    hideSlots(slots) {
      for (const slot of slots) if (slot < capacity) hide(slot);
      if (slots.length > 0) {
        for (const key of ['arrowSizes', 'dotRadii', 'weights', 'colors']) dirty.add(key);
      }
    },
    /** Re-evaluate live/stale/offline of every vehicle as time passes; true when any slot changed. */
    restyle(store, serverNow) {
      if (serverNow === null || capacity === 0) return false;
      const { alive, heading, color } = store.columns;
      baseColors = color;
      let changed = false;
      const n = Math.min(capacity, store.highWater);
      for (let slot = 0; slot < n; slot += 1) {
        if (!alive[slot]) continue;
        const s = store.stateIndexOfSlot(slot, serverNow);
        if (s !== stateBySlot[slot]) {
          writeStyle(slot, s, !Number.isNaN(heading[slot]));
          changed = true;
        }
      }
      if (changed) for (const key of ['arrowSizes', 'dotRadii', 'colors', 'lineColors']) dirty.add(key);
      return changed;
    },
    /** deck.gl binary attribute descriptors; a new object only for attributes changed since the last call. */
    descriptors() {
      const size = { positions: 2, angles: 1, arrowSizes: 1, dotRadii: 1, colors: 4, lineColors: 4, weights: 1 };
      for (const key of dirty) {
        const d = { value: arrays[key], size: size[key] };
        if (key === 'colors' || key === 'lineColors') d.normalized = true;
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
