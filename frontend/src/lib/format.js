// Text shown to people: the details panel, tooltips, durations, times, and the bbox of a view.

const HTML_ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

const isNumber = (x) => typeof x === 'number' && Number.isFinite(x);

export function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

export function formatSpeed(metersPerSecond) {
  if (!isNumber(metersPerSecond)) return 'unknown';
  return `${(metersPerSecond * 3.6).toFixed(1)} km/h (${metersPerSecond.toFixed(1)} m/s)`;
}

const COMPASS = ['N', 'NE', 'E', 'SE', 'S', 'SW', 'W', 'NW'];

/** Heading in degrees clockwise from north: "45° NE". */
export function formatHeading(degrees) {
  if (!isNumber(degrees)) return 'unknown';
  const d = ((Math.round(degrees) % 360) + 360) % 360;
  return `${d}° ${COMPASS[Math.round(d / 45) % 8]}`;
}

export function formatAltitude(metres) {
  if (!isNumber(metres)) return 'unknown';
  return `${Math.round(metres)} m`;
}

export function formatBattery(percent) {
  if (!isNumber(percent)) return 'unknown';
  return `${Math.round(percent)} %`;
}

/** "48.85660° N, 2.35220° E" (5 decimals: about a metre). */
export function formatPosition(lon, lat) {
  if (!isNumber(lon) || !isNumber(lat)) return 'unknown';
  const ns = lat < 0 ? 'S' : 'N';
  const ew = lon < 0 ? 'W' : 'E';
  return `${Math.abs(lat).toFixed(5)}° ${ns}, ${Math.abs(lon).toFixed(5)}° ${ew}`;
}

export function formatDuration(totalSeconds) {
  const s = Math.round(totalSeconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/**
 * "12 s ago" from an age in ms measured on the relay's clock (protocol v2). A small negative age
 * is a device clock slightly ahead of the relay's, not a point from the future: "just now".
 */
export function formatAge(ageMs) {
  if (!isNumber(ageMs)) return 'unknown';
  const s = Math.round(ageMs / 1000);
  if (s <= 0) return 'just now';
  return `${formatDuration(s)} ago`;
}

/** ISO 8601 in UTC without milliseconds, e.g. 2024-05-01T12:00:00Z. */
export function formatUtc(ms) {
  if (!isNumber(ms)) return '';
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const localFormatters = new Map();

/**
 * Date and time in the browser's zone (or `timeZone`), e.g. "2024-05-01 14:00:00 GMT+2"; pair it
 * with formatUtc in a title so the UTC instant is one hover away.
 */
export function formatLocal(ms, timeZone = undefined) {
  if (!isNumber(ms)) return '';
  const key = timeZone ?? '';
  let fmt = localFormatters.get(key);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    });
    localFormatters.set(key, fmt);
  }
  const parts = Object.fromEntries(fmt.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${parts.timeZoneName}`;
}

/** Tooltip of a live vehicle; ageMs on the relay's clock. */
export function vehicleTooltipHtml(vehicle, ageMs) {
  const rows = [
    `<strong>${escapeHtml(vehicle.id)}</strong>`,
    `speed: ${escapeHtml(formatSpeed(vehicle.speed))}`,
  ];
  if (isNumber(vehicle.heading)) rows.push(`heading: ${escapeHtml(formatHeading(vehicle.heading))}`);
  rows.push(`last seen: ${escapeHtml(formatAge(ageMs))}`);
  return rows.join('<br>');
}

/**
 * bbox [minLon, minLat, maxLon, maxLat] of view bounds grown by `margin` (fraction of the size).
 * null (no filter) when the view covers the whole world or crosses the antimeridian.
 */
export function viewportBbox(bounds, margin = 0.2) {
  if (!Array.isArray(bounds) || bounds.length !== 4 || !bounds.every(Number.isFinite)) return null;
  const [minLon, minLat, maxLon, maxLat] = bounds;
  const w = maxLon - minLon;
  const h = maxLat - minLat;
  if (!(w > 0) || !(h > 0)) return null;
  const lo = minLon - w * margin;
  const hi = maxLon + w * margin;
  if (hi - lo >= 360 || lo < -180 || hi > 180) return null;
  const round = (x) => Math.round(x * 1e6) / 1e6;
  return [round(lo), round(Math.max(-90, minLat - h * margin)), round(hi), round(Math.min(90, maxLat + h * margin))];
}
