// Everything a live frame needs before it reaches the page: decoding (binary or JSON), the
// vehicle id -> slot table, out-of-order and live-window filtering, expiry, and the v1 "snapshot
// replaces the set" rule. It runs in the frame worker, so the main thread never hashes an id: it
// receives slot numbers and columns and scatters them into the store. Pure apart from `now`.

import { decodeBinaryFrame, scanBinaryFrame, usablePosition } from './binary-frame.js';
import { createIdTable, decodeUtf8, hashBytes } from './id-table.js';
import { parseFrame } from '../lib/frames.js';
import { vehicleColor } from '../lib/live.js';

const FLOAT64 = ['lon', 'lat', 'ts'];
const FLOAT32 = ['speed', 'heading', 'alt', 'battery'];
const utf8Encoder = new TextEncoder();

/**
 * JSON data columns (lib/frames.js) in the form scanBinaryFrame gives: ids and sources as UTF-8
 * bytes in one array, so both wire formats share the processor's one row loop.
 */
export function scannedFromColumns(kind, serverTime, cols) {
  const n = cols.count;
  const encodedIds = cols.ids.map((id) => utf8Encoder.encode(id));
  const encodedSources = cols.sources.map((source) => utf8Encoder.encode(source ?? '').subarray(0, 255));
  let total = 0;
  for (let i = 0; i < n; i += 1) total += encodedIds[i].length + encodedSources[i].length;
  const bytes = new Uint8Array(total);
  const idStart = new Uint32Array(n);
  const idLength = new Uint16Array(n);
  const sourceStart = new Uint32Array(n);
  const sourceLength = new Uint8Array(n);
  let at = 0;
  for (let i = 0; i < n; i += 1) {
    bytes.set(encodedIds[i], at);
    idStart[i] = at;
    idLength[i] = Math.min(encodedIds[i].length, 0xffff);
    at += encodedIds[i].length;
    bytes.set(encodedSources[i], at);
    sourceStart[i] = at;
    sourceLength[i] = encodedSources[i].length;
    at += encodedSources[i].length;
  }
  const { lon, lat, ts, speed, heading, alt, battery } = cols;
  return { kind, serverTime, count: n, bytes, idStart, idLength, sourceStart, sourceLength, lon, lat, ts, speed, heading, alt, battery };
}

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
  const table = createIdTable();
  let tsBySlot = new Float64Array(1024);
  // v1 snapshots: the number of the last snapshot that carried each slot's vehicle.
  let seenBySlot = new Uint32Array(1024);
  let snapshots = 0;
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
    table.clear();
    tsBySlot = new Float64Array(1024);
    seenBySlot = new Uint32Array(1024);
    sourceBySlot = [];
    freeSlots = [];
    highWater = 0;
  }

  function takeSlot(id, hash) {
    let slot = freeSlots.pop();
    if (slot === undefined) {
      slot = highWater;
      highWater += 1;
      if (slot >= tsBySlot.length) {
        const grown = new Float64Array(tsBySlot.length * 2);
        grown.set(tsBySlot);
        tsBySlot = grown;
        const seen = new Uint32Array(seenBySlot.length * 2);
        seen.set(seenBySlot);
        seenBySlot = seen;
      }
    }
    table.add(id, slot, hash);
    sourceBySlot[slot] = '';
    return slot;
  }

  function releaseSlots(slots) {
    const removedSlots = [];
    const removedIds = [];
    for (const slot of slots) {
      const id = table.removeSlot(slot);
      if (id === undefined) continue;
      sourceBySlot[slot] = undefined;
      freeSlots.push(slot);
      removedSlots.push(slot);
      removedIds.push(id);
    }
    return { removedSlots: Int32Array.from(removedSlots), removedIds };
  }

  function releaseIds(ids) {
    const slots = [];
    for (const id of ids) {
      const slot = table.find(id);
      if (slot >= 0) slots.push(slot);
    }
    return releaseSlots(slots);
  }

  function applyData(frame) {
    const n = frame.count;
    const { bytes, idStart, idLength, sourceStart, sourceLength, lon, lat, ts, speed, heading, alt, battery } = frame;
    const slots = new Int32Array(n);
    const outLon = new Float64Array(n);
    const outLat = new Float64Array(n);
    const outTs = new Float64Array(n);
    const outSpeed = new Float32Array(n);
    const outHeading = new Float32Array(n);
    const outAlt = new Float32Array(n);
    const outBattery = new Float32Array(n);
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
    const v1Snapshot = frame.kind === 'snapshot' && protocol === 1;
    if (v1Snapshot) snapshots += 1;
    // Rows of a frame mostly share one source: its string is made once, not per row.
    let lastSourceAt = -1;
    let lastSourceLength = 0;
    let lastSource = '';
    for (let i = 0; i < n; i += 1) {
      const t = ts[i];
      const x = lon[i];
      const y = lat[i];
      const length = idLength[i];
      if (!(length > 0 && usablePosition(x, y, t))) {
        invalid += 1;
        continue;
      }
      const start = idStart[i];
      const hash = hashBytes(bytes, start, length);
      let slot = table.findBytes(bytes, start, length, hash);
      if (v1Snapshot && slot >= 0) seenBySlot[slot] = snapshots;
      if (t < minTs) {
        expiredOnArrival += 1;
        continue;
      }
      if (slot < 0) {
        if (table.size >= maxVehicles) {
          dropped += 1;
          continue;
        }
        const id = decodeUtf8(bytes, start, start + length);
        slot = takeSlot(id, hash);
        if (v1Snapshot) seenBySlot[slot] = snapshots;
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
      const sl = sourceLength[i];
      if (sl > 0) {
        const ss = sourceStart[i];
        if (!(sl === lastSourceLength && sameBytes(bytes, ss, lastSourceAt, sl))) {
          lastSource = decodeUtf8(bytes, ss, ss + sl);
          lastSourceAt = ss;
          lastSourceLength = sl;
        }
        if (lastSource !== sourceBySlot[slot]) {
          sourceBySlot[slot] = lastSource;
          sourceSlots.push(slot);
          sourceValues.push(lastSource);
        }
      }
      slots[kept] = slot;
      outLon[kept] = x;
      outLat[kept] = y;
      outTs[kept] = t;
      outSpeed[kept] = speed[i];
      outHeading[kept] = heading[i];
      outAlt[kept] = alt[i];
      outBattery[kept] = battery[i];
      kept += 1;
    }
    // v1: a snapshot is the whole set; vehicles it does not carry are gone.
    const gone = [];
    if (v1Snapshot) {
      for (let slot = 0; slot < highWater; slot += 1) {
        if (seenBySlot[slot] !== snapshots && table.idAt(slot) !== undefined) gone.push(slot);
      }
    }
    const { removedSlots, removedIds } = releaseSlots(gone);
    return {
      kind: 'data',
      frameKind: frame.kind,
      serverTime: frame.serverTime,
      count: kept,
      slots: slots.subarray(0, kept),
      lon: outLon.subarray(0, kept),
      lat: outLat.subarray(0, kept),
      ts: outTs.subarray(0, kept),
      speed: outSpeed.subarray(0, kept),
      heading: outHeading.subarray(0, kept),
      alt: outAlt.subarray(0, kept),
      battery: outBattery.subarray(0, kept),
      added: { slots: Int32Array.from(addedSlots), ids: addedIds, colors: Uint32Array.from(addedColors) },
      sources: { slots: Int32Array.from(sourceSlots), values: sourceValues },
      invalid: invalid + (frame.invalid ?? 0),
      outOfOrder,
      dropped,
      expiredOnArrival,
      removedSlots,
      removedIds,
    };
  }

  function observe(frame) {
    if (typeof frame.serverTime === 'number' && Number.isFinite(frame.serverTime)) {
      serverTime = frame.serverTime;
      observedAt = now();
    }
  }

  // Binary data frames are scanned, not decoded: known ids never become strings.
  function readFrame(data) {
    if (typeof data === 'string') {
      const frame = parseFrame(data);
      if (frame.kind !== 'snapshot' && frame.kind !== 'update') return frame;
      return { ...scannedFromColumns(frame.kind, frame.serverTime, frame.columns), invalid: frame.invalid };
    }
    const scanned = scanBinaryFrame(data);
    return scanned.kind === 'remove' ? decodeBinaryFrame(data) : scanned;
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
        for (let slot = 0; slot < highWater; slot += 1) {
          if (tsBySlot[slot] < minTs && table.idAt(slot) !== undefined) expired.push(slot);
        }
        return { kind: 'remove', serverTime: null, expired: true, ...releaseSlots(expired) };
      }
      if (message.type === 'disconnected') {
        // The next hello or data frame decides the protocol of the next connection.
        protocol = null;
        return { kind: 'disconnected' };
      }
      const frame = readFrame(message.data);
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
          return { kind: 'remove', serverTime: frame.serverTime, ...releaseIds(frame.ids) };
        default:
          return frame;
      }
    },
  };
}

function sameBytes(bytes, a, b, length) {
  if (b < 0) return false;
  for (let i = 0; i < length; i += 1) if (bytes[a + i] !== bytes[b + i]) return false;
  return true;
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

