// Text shown to people: tooltips, durations, speeds, and the viewport message for ws-relay.

const HTML_ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

export function formatSpeed(metersPerSecond) {
  if (typeof metersPerSecond !== 'number' || !Number.isFinite(metersPerSecond)) return 'unknown';
  return `${(metersPerSecond * 3.6).toFixed(1)} km/h (${metersPerSecond.toFixed(1)} m/s)`;
}

export function formatAgo(thenMs, nowMs) {
  const s = Math.round((nowMs - thenMs) / 1000);
  if (s < 0) return `in ${formatDuration(-s)}`;
  if (s === 0) return 'just now';
  return `${formatDuration(s)} ago`;
}

export function formatDuration(totalSeconds) {
  const s = Math.round(totalSeconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** ISO 8601 in UTC without milliseconds, e.g. 2024-05-01T12:00:00Z. */
export function formatUtc(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '';
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function vehicleTooltipHtml(vehicle, nowMs) {
  const rows = [
    `<strong>${escapeHtml(vehicle.id)}</strong>`,
    `speed: ${escapeHtml(formatSpeed(vehicle.speed))}`,
  ];
  if (typeof vehicle.heading === 'number') rows.push(`heading: ${Math.round(vehicle.heading)}°`);
  rows.push(`last seen: ${escapeHtml(formatAgo(vehicle.ts, nowMs))}`);
  rows.push(`<span class="muted">${escapeHtml(formatUtc(vehicle.ts))}</span>`);
  return rows.join('<br>');
}

/**
 * bbox for the ws-relay viewport message from view bounds [minLon, minLat, maxLon, maxLat],
 * grown by `margin` (fraction of the size) so panning a little needs no new data.
 * Returns null (no filter) when the view covers the whole world or crosses the antimeridian.
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

/** Ids to add and to remove so a list showing `previous` shows `next` (both iterables of ids). */
export function diffIds(previous, next) {
  const nextSet = next instanceof Set ? next : new Set(next);
  const prevSet = previous instanceof Set ? previous : new Set(previous);
  const added = [];
  const removed = [];
  for (const id of nextSet) if (!prevSet.has(id)) added.push(id);
  for (const id of prevSet) if (!nextSet.has(id)) removed.push(id);
  return { added, removed };
}
