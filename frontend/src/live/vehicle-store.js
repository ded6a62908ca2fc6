// Live vehicles in stable slots: a vehicle keeps its slot (an index into typed-array columns) from
// its first fix until it is removed, and a freed slot is reused. The frame processor (in the
// worker) assigns the slots; the store scatters each processed frame into its columns, so the main
// thread does no per-vehicle id lookups. The renderer draws slot i as instance i: picking,
// highlighting and per-slot attribute updates all follow the vehicle. No DOM, no I/O.

const NUMERIC = ['lon', 'lat', 'ts', 'speed', 'heading', 'alt', 'battery'];
const FLOAT64 = new Set(['lon', 'lat', 'ts']);
const INITIAL_CAPACITY = 1024;

export const VEHICLE_STATES = Object.freeze(['live', 'stale', 'offline']);

function allocate(capacity, previous) {
  const columns = {};
  for (const key of NUMERIC) {
    const Type = FLOAT64.has(key) ? Float64Array : Float32Array;
    columns[key] = new Type(capacity);
    if (previous) columns[key].set(previous[key]);
  }
  columns.alive = new Uint8Array(capacity);
  // Colour of the vehicle, 0xRRGGBB (lib/live.js vehicleColor), set once when it arrives.
  columns.color = new Uint32Array(capacity);
  if (previous) {
    columns.alive.set(previous.alive);
    columns.color.set(previous.color);
  }
  return columns;
}

/** 0 live, 1 stale, 2 offline (index into VEHICLE_STATES) for an age in ms; null age counts as live. */
export function stateIndexForAge(ageMs, { staleSeconds, offlineSeconds }) {
  if (ageMs === null) return 0;
  if (ageMs > offlineSeconds * 1000) return 2;
  if (ageMs > staleSeconds * 1000) return 1;
  return 0;
}

export function createVehicleStore({ clock = null } = {}) {
  let capacity = INITIAL_CAPACITY;
  let columns = allocate(capacity);
  const slotById = new Map();
  let idBySlot = [];
  let sourceBySlot = [];
  let highWater = 0;
  const listeners = new Set();
  const thresholds = { staleSeconds: 60, offlineSeconds: 300 };

  function ensureCapacity(slot) {
    if (slot < capacity) return;
    while (capacity <= slot) capacity *= 2;
    columns = allocate(capacity, columns);
    store.layoutVersion += 1;
  }

  function notify(change) {
    for (const fn of listeners) fn(change);
  }

  function forget(slots) {
    for (const slot of slots) {
      const id = idBySlot[slot];
      if (id !== undefined) slotById.delete(id);
      idBySlot[slot] = undefined;
      sourceBySlot[slot] = undefined;
      columns.alive[slot] = 0;
    }
  }

  const store = {
    version: 0,
    membershipVersion: 0,
    // Bumped when the columns are reallocated (a bigger capacity): readers re-read store.columns.
    layoutVersion: 0,
    get size() {
      return slotById.size;
    },
    get capacity() {
      return capacity;
    },
    /** One past the highest slot ever used. */
    get highWater() {
      return highWater;
    },
    get columns() {
      return columns;
    },
    get clock() {
      return clock;
    },
    get thresholds() {
      return { ...thresholds };
    },
    setThresholds({ staleSeconds, offlineSeconds }) {
      if (Number.isFinite(staleSeconds)) thresholds.staleSeconds = staleSeconds;
      if (Number.isFinite(offlineSeconds)) thresholds.offlineSeconds = offlineSeconds;
    },
    slotOf(id) {
      const slot = slotById.get(id);
      return slot === undefined ? -1 : slot;
    },
    idAt(slot) {
      return columns.alive[slot] ? idBySlot[slot] : undefined;
    },
    ids() {
      return slotById.keys();
    },
    get(id) {
      const slot = slotById.get(id);
      if (slot === undefined) return null;
      const v = { vehicle_id: id, ts: columns.ts[slot], lon: columns.lon[slot], lat: columns.lat[slot] };
      for (const key of ['speed', 'heading', 'alt', 'battery']) {
        const x = columns[key][slot];
        if (!Number.isNaN(x)) v[key] = x;
      }
      if (sourceBySlot[slot]) v.source = sourceBySlot[slot];
      return v;
    },
    ageMs(id) {
      const slot = slotById.get(id);
      return slot === undefined || !clock ? null : clock.ageMs(columns.ts[slot]);
    },
    state(id) {
      const slot = slotById.get(id);
      if (slot === undefined) return null;
      return VEHICLE_STATES[stateIndexForAge(clock ? clock.ageMs(columns.ts[slot]) : null, thresholds)];
    },
    /** State index (0 live, 1 stale, 2 offline) of a slot at server time `serverNow` (null = live). */
    stateIndexOfSlot(slot, serverNow) {
      return stateIndexForAge(serverNow === null ? null : serverNow - columns.ts[slot], thresholds);
    },
    /** fn({upserted: Int32Array of slots, removed: ids, removedSlots: Int32Array, cleared?}) after each change. */
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },

    /**
     * Size the columns for `n` vehicles now (the live controller passes maxVehicles): a big fleet
     * then arrives without reallocating and re-uploading every column several times on the way.
     */
    reserve(n) {
      if (Number.isFinite(n) && n > capacity) ensureCapacity(Math.floor(n) - 1);
    },

    /** Apply a processed data frame (frame-processor.js 'data' result). */
    applyData(result) {
      const hadRemovals = result.removedSlots.length > 0;
      if (hadRemovals) forget(result.removedSlots);
      const added = result.added;
      let maxSlot = -1;
      for (let i = 0; i < added.slots.length; i += 1) if (added.slots[i] > maxSlot) maxSlot = added.slots[i];
      // One reallocation for the whole frame, however many vehicles it brings.
      ensureCapacity(maxSlot);
      for (let i = 0; i < added.slots.length; i += 1) {
        const slot = added.slots[i];
        const id = added.ids[i];
        slotById.set(id, slot);
        idBySlot[slot] = id;
        sourceBySlot[slot] = '';
        columns.alive[slot] = 1;
        columns.color[slot] = added.colors[i];
      }
      if (maxSlot >= highWater) highWater = maxSlot + 1;
      const { sources } = result;
      for (let i = 0; i < sources.slots.length; i += 1) sourceBySlot[sources.slots[i]] = sources.values[i];
      const { slots } = result;
      const c = columns;
      for (const key of NUMERIC) {
        const from = result[key];
        const to = c[key];
        for (let i = 0; i < slots.length; i += 1) to[slots[i]] = from[i];
      }
      if (added.slots.length > 0 || hadRemovals) store.membershipVersion += 1;
      if (slots.length > 0 || hadRemovals) {
        store.version += 1;
        notify({ upserted: slots, removed: result.removedIds, removedSlots: result.removedSlots });
      }
    },

    /** Apply a processed remove (relay remove frame or expiry). */
    applyRemove(result) {
      if (result.removedSlots.length === 0) return;
      forget(result.removedSlots);
      store.version += 1;
      store.membershipVersion += 1;
      notify({ upserted: new Int32Array(0), removed: result.removedIds, removedSlots: result.removedSlots });
    },

    /** Forget every vehicle (the processor started a fresh slot table). */
    clear() {
      const removed = [...slotById.keys()];
      slotById.clear();
      columns.alive.fill(0);
      idBySlot = [];
      sourceBySlot = [];
      highWater = 0;
      store.version += 1;
      store.membershipVersion += 1;
      notify({ upserted: new Int32Array(0), removed, removedSlots: new Int32Array(0), cleared: true });
    },
  };
  return store;
}
