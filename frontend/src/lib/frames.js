// Parsing of ws-relay frames. Anything that does not match the protocol is reported as
// garbage instead of throwing, so one bad frame never breaks the live view.

/** A point of websocket_updates_topic, or null when it is unusable. */
export function validatePoint(p) {
  if (p === null || typeof p !== 'object' || Array.isArray(p)) return null;
  const { vehicle_id: id, ts, lon, lat } = p;
  if (typeof id !== 'string' || id.length === 0) return null;
  if (typeof ts !== 'number' || !Number.isFinite(ts)) return null;
  if (typeof lon !== 'number' || !Number.isFinite(lon) || lon < -180 || lon > 180) return null;
  if (typeof lat !== 'number' || !Number.isFinite(lat) || lat < -90 || lat > 90) return null;
  const point = { vehicle_id: id, ts, lon, lat };
  if (typeof p.speed === 'number' && Number.isFinite(p.speed)) point.speed = p.speed;
  if (typeof p.heading === 'number' && Number.isFinite(p.heading)) point.heading = p.heading;
  return point;
}

/**
 * Parse one WebSocket message.
 * Returns {kind: 'snapshot'|'update', points, invalid} | {kind: 'error', error} |
 * {kind: 'garbage', reason}.
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
  if (msg.type === 'error') {
    return { kind: 'error', error: typeof msg.error === 'string' ? msg.error : JSON.stringify(msg.error) };
  }
  if (msg.type !== 'snapshot' && msg.type !== 'update') {
    return { kind: 'garbage', reason: `unknown frame type ${JSON.stringify(msg.type)}` };
  }
  if (!Array.isArray(msg.vehicles)) return { kind: 'garbage', reason: 'vehicles is not an array' };
  const points = [];
  let invalid = 0;
  for (const raw of msg.vehicles) {
    const p = validatePoint(raw);
    if (p) points.push(p);
    else invalid += 1;
  }
  return { kind: msg.type, points, invalid };
}
