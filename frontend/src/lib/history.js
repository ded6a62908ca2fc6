// History mode: time-range parsing, trips-api paging, the epoch-ms -> seconds-since-origin
// mapping that TripsLayer needs (its timestamps are float32 on the GPU), the vehicle choice and
// the playback clock (play, loop, step).

const UNIT_MS = { s: 1000, m: 60000, h: 3600000, d: 86400000, w: 604800000 };

/**
 * Parse a time input: "now", "now-15m" / "now-2h" / "now-1d", epoch milliseconds, or any ISO 8601
 * date-time Date.parse accepts (without a zone it is local time). Returns epoch ms or null.
 */
export function parseTimeInput(text, nowMs) {
  if (typeof text !== 'string') return null;
  const s = text.trim();
  if (s === '') return null;
  if (/^now$/i.test(s)) return nowMs;
  const rel = /^now\s*-\s*(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(s);
  if (rel) return Math.round(nowMs - Number(rel[1]) * UNIT_MS[rel[2].toLowerCase()]);
  if (/^-?\d+$/.test(s)) return Number(s);
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? null : ms;
}

/** URL of one /api/trips page. start/end in epoch ms, bbox [minLon, minLat, maxLon, maxLat] or null. */
export function tripsUrl(apiUrl, { start, end, bbox = null, limit, offset = 0 }) {
  const params = new URLSearchParams();
  params.set('start', String(Math.round(start)));
  params.set('end', String(Math.round(end)));
  if (bbox) params.set('bbox', bbox.map((x) => Number(x.toFixed(6))).join(','));
  if (limit !== undefined) params.set('limit', String(limit));
  if (offset) params.set('offset', String(offset));
  return `${apiUrl}/api/trips?${params.toString()}`;
}

/**
 * Fetch all pages of /api/trips (following next_offset) up to maxTrips.
 * Returns {trips, truncated, pages}; throws on HTTP or payload errors.
 */
export async function fetchTrips(fetchFn, apiUrl, query, { pageSize = 500, maxTrips = 5000, signal } = {}) {
  const trips = [];
  let offset = 0;
  let pages = 0;
  let truncated = false;
  for (;;) {
    const limit = Math.min(pageSize, maxTrips - trips.length);
    const url = tripsUrl(apiUrl, { ...query, limit, offset });
    const response = await fetchFn(url, { signal, headers: { Accept: 'application/json' } });
    const text = await response.text();
    let body = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
    if (!response.ok) {
      const detail = body && typeof body.error === 'string' ? body.error : text.slice(0, 200);
      throw new Error(`trips-api HTTP ${response.status}: ${detail}`);
    }
    if (!body || !Array.isArray(body.trips)) throw new Error('trips-api returned no "trips" array');
    pages += 1;
    for (const t of body.trips) {
      if (trips.length >= maxTrips) break;
      trips.push(t);
    }
    const next = body.next_offset;
    if (next === null || next === undefined) break;
    if (trips.length >= maxTrips) {
      truncated = true;
      break;
    }
    // A server that does not advance would loop forever.
    if (typeof next !== 'number' || !Number.isFinite(next) || next <= offset) break;
    offset = next;
  }
  return { trips, truncated, pages };
}

/** `lon` moved by whole turns to within 180 degrees of `previousLon` (paths across the antimeridian). */
function unwrapLon(lon, previousLon) {
  let x = lon;
  while (x - previousLon > 180) x -= 360;
  while (x - previousLon < -180) x += 360;
  return x;
}

function validCoord(c) {
  return (
    Array.isArray(c) &&
    typeof c[0] === 'number' &&
    typeof c[1] === 'number' &&
    Number.isFinite(c[0]) &&
    Number.isFinite(c[1]) &&
    c[0] >= -180 &&
    c[0] <= 180 &&
    c[1] >= -90 &&
    c[1] <= 90
  );
}

/**
 * Turn trips-api trips into TripsLayer data. A trip whose path and timestamps differ in length
 * is dropped (counted in `invalid`); single bad points are skipped (`droppedPoints`).
 * Timestamps become seconds since the earliest timestamp of the result (originMs), so they
 * stay small enough for float32.
 */
export function prepareTrips(rawTrips, colorFor = () => [255, 255, 255]) {
  const cleaned = [];
  let invalid = 0;
  let droppedPoints = 0;
  let originMs = Infinity;
  let endMs = -Infinity;
  for (const raw of rawTrips) {
    if (!raw || typeof raw.vehicle_id !== 'string' || !Array.isArray(raw.path) || !Array.isArray(raw.timestamps)) {
      invalid += 1;
      continue;
    }
    if (raw.path.length !== raw.timestamps.length) {
      invalid += 1;
      continue;
    }
    const points = [];
    for (let i = 0; i < raw.path.length; i += 1) {
      const ts = raw.timestamps[i];
      if (validCoord(raw.path[i]) && typeof ts === 'number' && Number.isFinite(ts)) {
        points.push([raw.path[i][0], raw.path[i][1], ts]);
      } else {
        droppedPoints += 1;
      }
    }
    if (points.length === 0) {
      invalid += 1;
      continue;
    }
    points.sort((a, b) => a[2] - b[2]);
    // TripsLayer cannot use wrapLongitude (it would desynchronise the timestamps), so paths
    // crossing the antimeridian are unwrapped into the next world copy instead.
    for (let i = 1; i < points.length; i += 1) points[i][0] = unwrapLon(points[i][0], points[i - 1][0]);
    originMs = Math.min(originMs, points[0][2]);
    endMs = Math.max(endMs, points[points.length - 1][2]);
    cleaned.push({ id: raw.vehicle_id, points });
  }
  if (cleaned.length === 0) return { trips: [], originMs: null, spanSec: 0, invalid, droppedPoints };
  const trips = cleaned.map(({ id, points }) => ({
    id,
    path: points.map((p) => [p[0], p[1]]),
    timestamps: points.map((p) => (p[2] - originMs) / 1000),
    color: colorFor(id),
  }));
  return { trips, originMs, spanSec: (endMs - originMs) / 1000, invalid, droppedPoints };
}

export function toEpochMs(seconds, originMs) {
  return originMs + seconds * 1000;
}

function lerpLon(a, b, f) {
  let d = b - a;
  // Take the short way round across the antimeridian.
  if (d > 180) d -= 360;
  else if (d < -180) d += 360;
  let lon = a + d * f;
  if (lon > 180) lon -= 360;
  else if (lon < -180) lon += 360;
  return lon;
}

/**
 * Interpolated position of a trip at time t (seconds since origin), or null outside the trip.
 * A single-point trip shows for `holdSec` after its instant.
 */
export function positionAt(trip, t, holdSec = 0) {
  const ts = trip.timestamps;
  const n = ts.length;
  if (n === 0) return null;
  if (t < ts[0]) return null;
  if (t >= ts[n - 1]) {
    return t - ts[n - 1] <= holdSec ? trip.path[n - 1] : null;
  }
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (ts[mid] <= t) lo = mid;
    else hi = mid;
  }
  const span = ts[hi] - ts[lo];
  const f = span > 0 ? (t - ts[lo]) / span : 1;
  const a = trip.path[lo];
  const b = trip.path[hi];
  return [lerpLon(a[0], b[0], f), a[1] + (b[1] - a[1]) * f];
}

/** Binary buffers of the trips' current positions (the moving heads of the replay). */
export function buildHeadBuffers(trips, t, holdSec, cache = {}) {
  const need = trips.length;
  if (!cache.positions || cache.positions.length < 2 * need) {
    cache.positions = new Float64Array(Math.max(2 * need, 2));
    cache.colors = new Uint8Array(Math.max(4 * need, 4));
  }
  const ids = [];
  let i = 0;
  for (const trip of trips) {
    const p = positionAt(trip, t, holdSec);
    if (!p) continue;
    ids.push(trip.id);
    cache.positions[2 * i] = p[0];
    cache.positions[2 * i + 1] = p[1];
    cache.colors[4 * i] = trip.color[0];
    cache.colors[4 * i + 1] = trip.color[1];
    cache.colors[4 * i + 2] = trip.color[2];
    cache.colors[4 * i + 3] = 255;
    i += 1;
  }
  return {
    length: i,
    ids,
    positions: cache.positions.subarray(0, 2 * i),
    colors: cache.colors.subarray(0, 4 * i),
  };
}

export const SPEEDS = Object.freeze([1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400]);

/** Smallest listed speed that replays `spanSec` within about `targetSec` seconds. */
export function autoSpeed(spanSec, targetSec = 60) {
  const wanted = spanSec / targetSec;
  for (const s of SPEEDS) if (s >= wanted) return s;
  return SPEEDS[SPEEDS.length - 1];
}

/** Length of the visible trail behind each head, in seconds. */
export function trailLengthFor(spanSec) {
  return Math.min(3600, Math.max(30, spanSec / 10));
}

export function createPlayback(spanSec, speed = autoSpeed(spanSec)) {
  return { currentSec: 0, spanSec: Math.max(0, spanSec), speed, playing: false, loop: true };
}

/** Advance the clock by dtMs of wall time; loops back to the start (or stops) at the end. */
export function advancePlayback(pb, dtMs) {
  if (!pb.playing || !(dtMs > 0)) return pb;
  const next = pb.currentSec + (dtMs / 1000) * pb.speed;
  if (next <= pb.spanSec) {
    pb.currentSec = next;
  } else if (pb.loop && pb.spanSec > 0) {
    pb.currentSec = (next - pb.spanSec) % pb.spanSec;
  } else {
    pb.currentSec = pb.spanSec;
    pb.playing = false;
  }
  return pb;
}

export function seekPlayback(pb, seconds) {
  const s = Number(seconds);
  pb.currentSec = Number.isFinite(s) ? Math.min(pb.spanSec, Math.max(0, s)) : 0;
  return pb;
}

/** Vehicles of a result with their number of trips, sorted by id (the history vehicle choice). */
export function tripVehicles(trips) {
  const counts = new Map();
  for (const t of trips) counts.set(t.id, (counts.get(t.id) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([id, trips]) => ({ id, trips }));
}

/** The trips of the chosen vehicles; an empty choice means every vehicle. */
export function chooseTrips(trips, chosenIds) {
  if (!chosenIds || chosenIds.size === 0) return trips;
  return trips.filter((t) => chosenIds.has(t.id));
}

/**
 * Time (seconds since origin) of the next fix after `t` (direction 1) or the previous one before
 * it (direction -1) among `trips`; `t` itself when there is none, so stepping stops at the ends.
 */
export function stepTime(trips, t, direction) {
  const eps = 1e-6;
  let best = direction > 0 ? Infinity : -Infinity;
  for (const trip of trips) {
    const ts = trip.timestamps;
    let lo = 0;
    let hi = ts.length;
    // First index whose time is after t (forward) or at/after t (backward).
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (direction > 0 ? ts[mid] <= t + eps : ts[mid] < t - eps) lo = mid + 1;
      else hi = mid;
    }
    if (direction > 0) {
      if (lo < ts.length && ts[lo] < best) best = ts[lo];
    } else if (lo > 0 && ts[lo - 1] > best) {
      best = ts[lo - 1];
    }
  }
  return Number.isFinite(best) ? best : t;
}
