// Parsing of ws-relay text frames (protocol v1 and v2 JSON). Anything that does not match the
// protocol is reported as garbage instead of throwing, so one bad frame never breaks the live view.
// Data frames come out as columns (the same shape the binary decoder gives), so the vehicle store
// has one apply path whatever the wire format.

const OPTIONAL_NUMBERS = ['speed', 'heading', 'alt', 'battery'];

function isFiniteNumber(x) {
  return typeof x === 'number' && Number.isFinite(x);
}

/** A point of websocket_updates_topic, or null when it is unusable. */
export function validatePoint(p) {
  if (p === null || typeof p !== 'object' || Array.isArray(p)) return null;
  const { vehicle_id: id, ts, lon, lat } = p;
  if (typeof id !== 'string' || id.length === 0) return null;
  if (!isFiniteNumber(ts)) return null;
  if (!isFiniteNumber(lon) || lon < -180 || lon > 180) return null;
  if (!isFiniteNumber(lat) || lat < -90 || lat > 90) return null;
  const point = { vehicle_id: id, ts, lon, lat };
  for (const key of OPTIONAL_NUMBERS) if (isFiniteNumber(p[key])) point[key] = p[key];
  if (typeof p.source === 'string' && p.source.length > 0) point.source = p.source;
  return point;
}

/**
 * Column form of validated points: {count, ids, sources, lon, lat, ts (Float64Array), speed,
 * heading, alt, battery (Float32Array, NaN = unknown)}.
 */
export function pointsToColumns(points) {
  const n = points.length;
  const cols = {
    count: n,
    ids: new Array(n),
    sources: new Array(n),
    lon: new Float64Array(n),
    lat: new Float64Array(n),
    ts: new Float64Array(n),
    speed: new Float32Array(n),
    heading: new Float32Array(n),
    alt: new Float32Array(n),
    battery: new Float32Array(n),
  };
  for (let i = 0; i < n; i += 1) {
    const p = points[i];
    cols.ids[i] = p.vehicle_id;
    cols.sources[i] = p.source ?? '';
    cols.lon[i] = p.lon;
    cols.lat[i] = p.lat;
    cols.ts[i] = p.ts;
    for (const key of OPTIONAL_NUMBERS) cols[key][i] = p[key] ?? Number.NaN;
  }
  return cols;
}

function serverTimeOf(msg) {
  return isFiniteNumber(msg.server_time) ? msg.server_time : null;
}

/**
 * Parse one text message.
 * Returns one of
 *   {kind: 'snapshot'|'update', serverTime, columns, invalid}
 *   {kind: 'remove', serverTime, ids}
 *   {kind: 'hello', protocol, format, serverTime, frameIntervalMs, heartbeatS, vehicleTtlS}
 *   {kind: 'heartbeat', serverTime}
 *   {kind: 'error', error}
 *   {kind: 'garbage', reason}
 */
export function parseFrame(data) {
  if (typeof data !== 'string') return { kind: 'garbage', reason: 'binary frame' };
  let msg;
  try {
    msg = JSON.parse(data);
  } catch {
    return { kind: 'garbage', reason: 'not JSON' };
  }
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
    return { kind: 'garbage', reason: 'not a JSON object' };
  }
  switch (msg.type) {
    case 'error':
      return { kind: 'error', error: typeof msg.error === 'string' ? msg.error : JSON.stringify(msg.error) };
    case 'hello':
      if (msg.protocol !== 2 || (msg.format !== 'bin' && msg.format !== 'json')) {
        return { kind: 'garbage', reason: 'unsupported hello' };
      }
      return {
        kind: 'hello',
        protocol: 2,
        format: msg.format,
        serverTime: serverTimeOf(msg),
        frameIntervalMs: isFiniteNumber(msg.frame_interval_ms) ? msg.frame_interval_ms : null,
        heartbeatS: isFiniteNumber(msg.heartbeat_s) && msg.heartbeat_s > 0 ? msg.heartbeat_s : null,
        vehicleTtlS: isFiniteNumber(msg.vehicle_ttl_s) ? msg.vehicle_ttl_s : null,
      };
    case 'heartbeat':
      return { kind: 'heartbeat', serverTime: serverTimeOf(msg) };
    case 'remove':
      if (!Array.isArray(msg.ids)) return { kind: 'garbage', reason: 'ids is not an array' };
      return {
        kind: 'remove',
        serverTime: serverTimeOf(msg),
        ids: msg.ids.filter((id) => typeof id === 'string' && id.length > 0),
      };
    case 'snapshot':
    case 'update': {
      if (!Array.isArray(msg.vehicles)) return { kind: 'garbage', reason: 'vehicles is not an array' };
      const points = [];
      let invalid = 0;
      for (const raw of msg.vehicles) {
        const p = validatePoint(raw);
        if (p) points.push(p);
        else invalid += 1;
      }
      return { kind: msg.type, serverTime: serverTimeOf(msg), columns: pointsToColumns(points), invalid };
    }
    default:
      return { kind: 'garbage', reason: `unknown frame type ${JSON.stringify(msg.type)}` };
  }
}
