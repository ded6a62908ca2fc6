// Live vehicle state: applies ws-relay frames, keeps short trails and turns the state into
// columnar typed arrays for deck.gl. No DOM, no I/O: everything is driven by the caller's clock.

export function createLiveState(options = {}) {
  return {
    vehicles: new Map(),
    // Bumped on every visible change; the renderer compares it to decide whether to rebuild.
    version: 0,
    options: {
      liveWindowSeconds: options.liveWindowSeconds ?? 600,
      trailPoints: options.trailPoints ?? 20,
      trailSeconds: options.trailSeconds ?? 120,
      // Trail vertices are at least this far apart in event time; newer points in between only
      // move the last vertex, so a 10 Hz stream still gets a trail of trailPoints seconds.
      trailMinIntervalMs: options.trailMinIntervalMs ?? 1000,
      maxVehicles: options.maxVehicles ?? 100000,
    },
    counters: {
      frames: 0,
      snapshots: 0,
      updates: 0,
      garbage: 0,
      errors: 0,
      invalidPoints: 0,
      stalePoints: 0,
      outOfOrderPoints: 0,
      droppedVehicles: 0,
    },
    lastError: null,
    lastGarbage: null,
  };
}

function fnv1a(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // murmur3 finaliser: FNV alone leaves ids like veh-001, veh-002 with near-equal low bits.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Stable, well-spread colour for a vehicle id: [r, g, b] in 0..255. */
export function vehicleColor(id) {
  const hue = (fnv1a(id) % 360) / 360;
  const s = 0.8;
  const l = 0.6;
  const q = l < 0.5 ? l * (1 + s) : l + s - l * s;
  const p = 2 * l - q;
  const channel = (t) => {
    let x = t;
    if (x < 0) x += 1;
    if (x > 1) x -= 1;
    if (x < 1 / 6) return p + (q - p) * 6 * x;
    if (x < 1 / 2) return q;
    if (x < 2 / 3) return p + (q - p) * (2 / 3 - x) * 6;
    return p;
  };
  return [hue + 1 / 3, hue, hue - 1 / 3].map((t) => Math.round(channel(t) * 255));
}

function isStale(state, ts, nowMs) {
  const windowS = state.options.liveWindowSeconds;
  return windowS > 0 && ts < nowMs - windowS * 1000;
}

/**
 * Longitude of `lon` shifted by a multiple of 360 to be within 180 degrees of `previousLon`, so
 * a path crossing the antimeridian continues into the next world copy instead of spanning it.
 */
export function unwrapLon(lon, previousLon) {
  let x = lon;
  while (x - previousLon > 180) x -= 360;
  while (x - previousLon < -180) x += 360;
  return x;
}

function trimTrail(trail, latestTs, options) {
  // trail is flat: lon, lat, ts, lon, lat, ts, ...
  const maxLen = options.trailPoints * 3;
  let drop = trail.length > maxLen ? trail.length - maxLen : 0;
  const oldest = latestTs - options.trailSeconds * 1000;
  while (drop < trail.length - 3 && trail[drop + 2] < oldest) drop += 3;
  if (drop > 0) trail.splice(0, drop);
  // Keep unwrapped longitudes near the primary world copy.
  const shift = trail[0] > 180 ? -360 : trail[0] < -180 ? 360 : 0;
  if (shift !== 0) for (let i = 0; i < trail.length; i += 3) trail[i] += shift;
}

function setPoint(vehicle, p, nowMs) {
  vehicle.ts = p.ts;
  vehicle.lon = p.lon;
  vehicle.lat = p.lat;
  vehicle.speed = p.speed;
  vehicle.heading = p.heading;
  vehicle.receivedAt = nowMs;
}

/** Apply one point; returns true when the state changed. */
function applyPoint(state, p, nowMs) {
  const { vehicles, options, counters } = state;
  if (isStale(state, p.ts, nowMs)) {
    counters.stalePoints += 1;
    return false;
  }
  let v = vehicles.get(p.vehicle_id);
  if (!v) {
    if (vehicles.size >= options.maxVehicles) {
      counters.droppedVehicles += 1;
      return false;
    }
    v = { id: p.vehicle_id, color: vehicleColor(p.vehicle_id), trail: [] };
    setPoint(v, p, nowMs);
    if (options.trailPoints > 0) v.trail.push(p.lon, p.lat, p.ts);
    vehicles.set(v.id, v);
    return true;
  }
  if (p.ts < v.ts) {
    counters.outOfOrderPoints += 1;
    return false;
  }
  if (p.ts === v.ts && p.lon === v.lon && p.lat === v.lat && p.speed === v.speed && p.heading === v.heading) {
    v.receivedAt = nowMs;
    return false;
  }
  setPoint(v, p, nowMs);
  if (options.trailPoints > 0) {
    const t = v.trail;
    const n = t.length;
    const lon = n >= 3 ? unwrapLon(p.lon, t[n - 3]) : p.lon;
    // The vertex before the last one decides whether the last one is kept as a sample or
    // just follows the head.
    const anchorTs = n >= 6 ? t[n - 4] : Number.NEGATIVE_INFINITY;
    if (n >= 3 && t[n - 3] === lon && t[n - 2] === p.lat) {
      t[n - 1] = p.ts;
    } else if (n >= 3 && (t[n - 1] === p.ts || t[n - 1] - anchorTs < options.trailMinIntervalMs)) {
      t[n - 3] = lon;
      t[n - 2] = p.lat;
      t[n - 1] = p.ts;
    } else {
      t.push(lon, p.lat, p.ts);
    }
    trimTrail(t, p.ts, options);
  }
  return true;
}

/**
 * Apply a batch of points. Points of one vehicle are applied in event-time order, so a frame
 * carrying several positions of a vehicle extends its trail and leaves the newest position.
 * With replace=true (snapshot) vehicles absent from the batch are removed.
 */
export function applyPoints(state, points, nowMs, { replace = false } = {}) {
  const ordered = points.length > 1 ? [...points].sort((a, b) => a.ts - b.ts) : points;
  let changed = false;
  for (const p of ordered) {
    if (applyPoint(state, p, nowMs)) changed = true;
  }
  if (replace) {
    const keep = new Set();
    for (const p of points) keep.add(p.vehicle_id);
    for (const id of state.vehicles.keys()) {
      if (!keep.has(id)) {
        state.vehicles.delete(id);
        changed = true;
      }
    }
  }
  if (changed) state.version += 1;
  return changed;
}

/** Apply the result of parseFrame(); returns true when the visible state changed. */
export function applyFrame(state, frame, nowMs) {
  const c = state.counters;
  c.frames += 1;
  switch (frame.kind) {
    case 'snapshot':
      c.snapshots += 1;
      c.invalidPoints += frame.invalid;
      return applyPoints(state, frame.points, nowMs, { replace: true });
    case 'update':
      c.updates += 1;
      c.invalidPoints += frame.invalid;
      return applyPoints(state, frame.points, nowMs);
    case 'error':
      c.errors += 1;
      state.lastError = frame.error;
      return false;
    default:
      c.garbage += 1;
      state.lastGarbage = frame.reason ?? 'garbage';
      return false;
  }
}

/** Latest point per vehicle id (newest event time wins; on a tie the later one). */
export function coalescePoints(points) {
  const latest = new Map();
  for (const p of points) {
    const prev = latest.get(p.vehicle_id);
    if (!prev || p.ts >= prev.ts) latest.set(p.vehicle_id, p);
  }
  return [...latest.values()];
}

/** Remove vehicles whose last event time fell out of the live window. */
export function pruneStale(state, nowMs) {
  if (!(state.options.liveWindowSeconds > 0)) return 0;
  let removed = 0;
  for (const [id, v] of state.vehicles) {
    if (isStale(state, v.ts, nowMs)) {
      state.vehicles.delete(id);
      removed += 1;
    }
  }
  if (removed) state.version += 1;
  return removed;
}

/** Remove vehicles outside bbox [minLon, minLat, maxLon, maxLat] (server-side viewport filter). */
export function pruneOutside(state, bbox) {
  if (!bbox) return 0;
  const [minLon, minLat, maxLon, maxLat] = bbox;
  let removed = 0;
  for (const [id, v] of state.vehicles) {
    if (v.lon < minLon || v.lon > maxLon || v.lat < minLat || v.lat > maxLat) {
      state.vehicles.delete(id);
      removed += 1;
    }
  }
  if (removed) state.version += 1;
  return removed;
}

/** Forget everything (used when the connection is replaced by a new snapshot source). */
export function clearLive(state) {
  if (state.vehicles.size === 0) return;
  state.vehicles.clear();
  state.version += 1;
}

function grow(cache, key, Type, size) {
  const current = cache[key];
  if (current && current.length >= size) return current;
  let capacity = current ? current.length : 1024;
  while (capacity < size) capacity *= 2;
  const next = new Type(capacity);
  cache[key] = next;
  return next;
}

/**
 * Columnar view of the vehicles for a binary deck.gl layer. Buffers in `cache` are reused
 * between calls; the returned arrays are fresh subarray views so deck.gl sees new values.
 */
export function buildVehicleBuffers(state, cache = {}) {
  const n = state.vehicles.size;
  const positions = grow(cache, 'positions', Float64Array, 2 * n);
  const angles = grow(cache, 'angles', Float32Array, n);
  const colors = grow(cache, 'colors', Uint8Array, 4 * n);
  const hasHeading = grow(cache, 'hasHeading', Uint8Array, n);
  const ids = new Array(n);
  let i = 0;
  for (const v of state.vehicles.values()) {
    ids[i] = v.id;
    positions[2 * i] = v.lon;
    positions[2 * i + 1] = v.lat;
    // deck.gl angles are counter-clockwise; headings are clockwise from north.
    angles[i] = v.heading === undefined ? 0 : -v.heading;
    hasHeading[i] = v.heading === undefined ? 0 : 1;
    colors[4 * i] = v.color[0];
    colors[4 * i + 1] = v.color[1];
    colors[4 * i + 2] = v.color[2];
    colors[4 * i + 3] = 255;
    i += 1;
  }
  return {
    length: n,
    ids,
    positions: positions.subarray(0, 2 * n),
    angles: angles.subarray(0, n),
    colors: colors.subarray(0, 4 * n),
    hasHeading: hasHeading.subarray(0, n),
  };
}

/**
 * Trails as independent segments for a binary LineLayer (a much cheaper shader than PathLayer's
 * joins and caps, which dominates with software rendering). Alpha rises towards the head.
 */
export function buildTrailSegments(state, cache = {}) {
  let segments = 0;
  for (const v of state.vehicles.values()) {
    const k = v.trail.length / 3;
    if (k >= 2) segments += k - 1;
  }
  const sources = grow(cache, 'trailSources', Float64Array, 2 * segments);
  const targets = grow(cache, 'trailTargets', Float64Array, 2 * segments);
  const colors = grow(cache, 'trailColors', Uint8Array, 4 * segments);
  let i = 0;
  for (const v of state.vehicles.values()) {
    const t = v.trail;
    const k = t.length / 3;
    for (let j = 1; j < k; j += 1) {
      sources[2 * i] = t[3 * (j - 1)];
      sources[2 * i + 1] = t[3 * (j - 1) + 1];
      targets[2 * i] = t[3 * j];
      targets[2 * i + 1] = t[3 * j + 1];
      colors[4 * i] = v.color[0];
      colors[4 * i + 1] = v.color[1];
      colors[4 * i + 2] = v.color[2];
      colors[4 * i + 3] = Math.round(40 + (180 * j) / (k - 1));
      i += 1;
    }
  }
  return {
    length: segments,
    sources: sources.subarray(0, 2 * segments),
    targets: targets.subarray(0, 2 * segments),
    colors: colors.subarray(0, 4 * segments),
  };
}
