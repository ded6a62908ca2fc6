// Everything a live frame needs before it reaches the page: decoding (binary or JSON), the
// vehicle id -> slot table, out-of-order and live-window filtering, expiry, and the v1 "snapshot
// replaces the set" rule. It runs in the frame worker, so the main thread never hashes an id: it
// receives slot numbers and columns and scatters them into the store. Pure apart from `now`.

import { decodeBinaryFrame, isUsableRow } from './binary-frame.js';
import { parseFrame } from '../lib/frames.js';
import { vehicleColor } from '../lib/live.js';

const FLOAT64 = ['lon', 'lat', 'ts'];
const FLOAT32 = ['speed', 'heading', 'alt', 'battery'];

/**
 * createFrameProcessor({maxVehicles, liveWindowSeconds, now}) -> {handle(message) -> result}
 * message: {type: 'frame', data: string | ArrayBuffer} | {type: 'prune'}
 * result kinds:
 *   hello {..., reset}  (reset: a later connection; the page forgets every vehicle, slots start afresh)
 *   heartbeat | error | garbage   as lib/frames.js
 *   data {frameKind: 'snapshot'|'update', serverTime, count, slots: Int32Array, lon, lat, ts, speed,
 *         heading, alt, battery, added: {slots: Int32Array, ids: string[], colors: Uint32Array (0xRRGGBB)},
 *         sources: {slots: Int32Array, values: string[]}, invalid, outOfOrder,
 *         dropped, expiredOnArrival, removedSlots: Int32Array, removedIds}
 *   remove {serverTime, removedSlots: Int32Array, removedIds}   (relay remove frame, or expiry on prune)
 */
export function createFrameProcessor({ maxVehicles = 100000, liveWindowSeconds = 600, now = () => performance.now() } = {}) {
  let slotById = new Map();
  let idBySlot = [];
  let tsBySlot = new Float64Array(1024);
  let sourceBySlot = [];
  let freeSlots = [];
  let highWater = 0;
  let hellos = 0;
  let protocol = null;
  let serverTime = null;
  let observedAt = 0;

  function serverNow() {
    return serverTime === null ? null : serverTime + (now() - observedAt);
  }

  function resetTable() {
    slotById = new Map();
    idBySlot = [];
    tsBySlot = new Float64Array(1024);
    sourceBySlot = [];
    freeSlots = [];
    highWater = 0;
  }

  function takeSlot(id) {
    let slot = freeSlots.pop();
    if (slot === undefined) {
      slot = highWater;
      highWater += 1;
      if (slot >= tsBySlot.length) {
        const grown = new Float64Array(tsBySlot.length * 2);
        grown.set(tsBySlot);
        tsBySlot = grown;
      }
    }
    slotById.set(id, slot);
    idBySlot[slot] = id;
    sourceBySlot[slot] = '';
    return slot;
  }

  function release(ids) {
    const removedSlots = [];
    const removedIds = [];
    for (const id of ids) {
      const slot = slotById.get(id);
      if (slot === undefined) continue;
      slotById.delete(id);
      idBySlot[slot] = undefined;
      sourceBySlot[slot] = undefined;
      freeSlots.push(slot);
      removedSlots.push(slot);
      removedIds.push(id);
    }
    return { removedSlots: Int32Array.from(removedSlots), removedIds };
  }

  function applyData(frame) {
    const cols = frame.columns;
    const n = cols.count;
    const slots = new Int32Array(n);
    const out = {};
    for (const key of FLOAT64) out[key] = new Float64Array(n);
    for (const key of FLOAT32) out[key] = new Float32Array(n);
    // New vehicles and changed sources as columns: cheap to post to the page (no object per row).
    const addedSlots = [];
    const addedIds = [];
    const addedColors = [];
    const sourceSlots = [];
    const sourceValues = [];
    let kept = 0;
    let invalid = 0;
    let outOfOrder = 0;
    let dropped = 0;
    let expiredOnArrival = 0;
    const sn = serverNow();
    const minTs = liveWindowSeconds > 0 && sn !== null ? sn - liveWindowSeconds * 1000 : -Infinity;
    const seen = frame.kind === 'snapshot' && protocol === 1 ? new Set() : null;
    for (let i = 0; i < n; i += 1) {
      const id = cols.ids[i];
      const t = cols.ts[i];
      if (!isUsableRow(id, cols.lon[i], cols.lat[i], t)) {
        invalid += 1;
        continue;
      }
      if (seen) seen.add(id);
      if (t < minTs) {
        expiredOnArrival += 1;
        continue;
      }
      let slot = slotById.get(id);
      if (slot === undefined) {
        if (slotById.size >= maxVehicles) {
          dropped += 1;
          continue;
        }
        slot = takeSlot(id);
        // The vehicle's colour, packed 0xRRGGBB: hashing ids is work the main thread is spared.
        const [r, g, b] = vehicleColor(id);
        addedSlots.push(slot);
        addedIds.push(id);
        addedColors.push((r << 16) | (g << 8) | b);
      } else if (t < tsBySlot[slot]) {
        outOfOrder += 1;
        continue;
      }
      tsBySlot[slot] = t;
      const source = cols.sources[i];
      if (source && source !== sourceBySlot[slot]) {
        sourceBySlot[slot] = source;
        sourceSlots.push(slot);
        sourceValues.push(source);
      }
      slots[kept] = slot;
      out.lon[kept] = cols.lon[i];
      out.lat[kept] = cols.lat[i];
      out.ts[kept] = t;
      for (const key of FLOAT32) out[key][kept] = cols[key][i];
      kept += 1;
    }
    // v1: a snapshot is the whole set; vehicles it does not carry are gone.
    const gone = seen ? [...slotById.keys()].filter((id) => !seen.has(id)) : [];
    const { removedSlots, removedIds } = release(gone);
    const result = {
      kind: 'data',
      frameKind: frame.kind,
      serverTime: frame.serverTime,
      count: kept,
      slots: slots.subarray(0, kept),
      added: { slots: Int32Array.from(addedSlots), ids: addedIds, colors: Uint32Array.from(addedColors) },
      sources: { slots: Int32Array.from(sourceSlots), values: sourceValues },
      invalid: invalid + frame.invalid,
      outOfOrder,
      dropped,
      expiredOnArrival,
      removedSlots,
      removedIds,
    };
    for (const key of [...FLOAT64, ...FLOAT32]) result[key] = out[key].subarray(0, kept);
    return result;
  }

  function observe(frame) {
    if (typeof frame.serverTime === 'number' && Number.isFinite(frame.serverTime)) {
      serverTime = frame.serverTime;
      observedAt = now();
    }
  }

  return {
    handle(message) {
      if (message.type === 'prune') {
        const sn = serverNow();
        if (!(liveWindowSeconds > 0) || sn === null) {
          return { kind: 'remove', serverTime: null, expired: true, removedSlots: new Int32Array(0), removedIds: [] };
        }
        const minTs = sn - liveWindowSeconds * 1000;
        const expired = [];
        for (const [id, slot] of slotById) if (tsBySlot[slot] < minTs) expired.push(id);
        return { kind: 'remove', serverTime: null, expired: true, ...release(expired) };
      }
      if (message.type === 'disconnected') {
        // The next hello or data frame decides the protocol of the next connection.
        protocol = null;
        return { kind: 'disconnected' };
      }
      const { data } = message;
      const frame = typeof data === 'string' ? parseFrame(data) : decodeBinaryFrame(data);
      observe(frame);
      switch (frame.kind) {
        case 'hello': {
          protocol = 2;
          hellos += 1;
          const reset = hellos > 1;
          if (reset) resetTable();
          return { ...frame, reset };
        }
        case 'snapshot':
        case 'update':
          if (protocol === null) protocol = 1;
          return { ...applyData(frame), protocol };
        case 'remove':
          return { kind: 'remove', serverTime: frame.serverTime, ...release(frame.ids) };
        default:
          return frame;
      }
    },
  };
}

/** The buffers of a result to transfer when posting it from a worker. */
export function transferablesOfResult(result) {
  const buffers = [];
  const arrays = ['slots', 'lon', 'lat', 'ts', 'speed', 'heading', 'alt', 'battery', 'removedSlots'].map((key) => result[key]);
  if (result.added) arrays.push(result.added.slots, result.added.colors, result.sources.slots);
  for (const a of arrays) {
    if (a && a.buffer && !buffers.includes(a.buffer)) buffers.push(a.buffer);
  }
  return buffers;
}

/**
 * A data result of more than `maxRows` rows as several results of at most `maxRows` rows, in order,
 * each with the new vehicles and sources of its own rows; the counters ride on the first part and
 * the v1 removals on the last. The worker posts the parts one by one, so the page applies a big
 * snapshot in several short tasks instead of one long one. Every part has `part` and `parts`.
 */
export function splitResult(result, maxRows) {
  if (result.kind !== 'data' || result.count <= maxRows) return [{ ...result, part: 0, parts: 1 }];
  const parts = Math.ceil(result.count / maxRows);
  const out = [];
  let nextAdded = 0;
  let nextSource = 0;
  const { added, sources } = result;
  for (let k = 0; k < parts; k += 1) {
    const start = k * maxRows;
    const end = Math.min(result.count, start + maxRows);
    // New vehicles and source changes were recorded in row order, one per row at most.
    const addedFrom = nextAdded;
    const sourceFrom = nextSource;
    for (let row = start; row < end; row += 1) {
      if (nextAdded < added.slots.length && added.slots[nextAdded] === result.slots[row]) nextAdded += 1;
      if (nextSource < sources.slots.length && sources.slots[nextSource] === result.slots[row]) nextSource += 1;
    }
    const last = k === parts - 1;
    const chunk = {
      ...result,
      part: k,
      parts,
      count: end - start,
      added: {
        slots: added.slots.slice(addedFrom, nextAdded),
        ids: added.ids.slice(addedFrom, nextAdded),
        colors: added.colors.slice(addedFrom, nextAdded),
      },
      sources: { slots: sources.slots.slice(sourceFrom, nextSource), values: sources.values.slice(sourceFrom, nextSource) },
      removedSlots: last ? result.removedSlots : new Int32Array(0),
      removedIds: last ? result.removedIds : [],
    };
    if (k > 0) Object.assign(chunk, { invalid: 0, outOfOrder: 0, dropped: 0, expiredOnArrival: 0 });
    for (const key of ['slots', ...FLOAT64, ...FLOAT32]) chunk[key] = result[key].slice(start, end);
    out.push(chunk);
  }
  return out;
}

