// The live side of the controls: connection state, vehicle count, trails switch, "Zoom to
// vehicles" and the counters footer. Connection changes are announced.

import { escapeHtml } from '../lib/format.js';

const STATUS_TEXT = {
  connecting: 'connecting to the live feed',
  open: 'live feed connected',
  closed: 'live feed disconnected, retrying',
};

/** Lines of the counters footer (HTML; every value is a number or escaped). */
export function statsLines(stats, { wsUrl, protocol, nowMs, status }) {
  const n = (x) => (Number.isFinite(x) ? x : 0);
  const lines = [
    `frames <span data-testid="frames-count">${n(stats.frames)}</span> · ignored <span data-testid="garbage-count">${n(stats.garbage)}</span> · errors ${n(stats.errors)}`,
    `snapshots ${n(stats.snapshots)} · updates ${n(stats.updates)} · removes ${n(stats.removes)} · invalid points ${n(stats.invalidPoints)}`,
    `connections ${n(stats.opens)} · retries ${n(stats.retries)} · protocol ${protocol ?? '?'}`,
  ];
  if (status === 'closed' && Number.isFinite(stats.nextRetryAt)) {
    lines.push(`reconnecting in ${Math.max(0, Math.ceil((stats.nextRetryAt - nowMs) / 1000))} s`);
  }
  lines.push(`<span title="live feed URL">${escapeHtml(wsUrl)}</span>`);
  return lines;
}

/**
 * elements: {connection, count, trails, trailsNote, fit, stats}. renderer: setShowTrails, fitBounds.
 * `refresh()` at the UI's pace; `setStatus(status)` from the live controller.
 */
export function createLivePanel({ elements: el, config, store, live, renderer, announce, clockNow = () => Date.now() }) {
  let status = null;
  let shownVersion = -1;

  el.trails.checked = config.trailPoints > 0;
  el.trails.disabled = config.trailPoints === 0;
  renderer.setShowTrails(el.trails.checked);
  el.trails.addEventListener('change', () => renderer.setShowTrails(el.trails.checked));

  el.fit.addEventListener('click', () => {
    const { lon, lat, alive } = store.columns;
    let [w, s, e, n] = [Infinity, Infinity, -Infinity, -Infinity];
    for (let slot = 0; slot < store.highWater; slot += 1) {
      if (!alive[slot]) continue;
      w = Math.min(w, lon[slot]);
      e = Math.max(e, lon[slot]);
      s = Math.min(s, lat[slot]);
      n = Math.max(n, lat[slot]);
    }
    if (w <= e) renderer.fitBounds([[w, s], [e, n]], { maxZoom: 14 });
  });

  return {
    setStatus(next) {
      el.connection.textContent = next;
      el.connection.dataset.state = next;
      if (next !== status && STATUS_TEXT[next] && (status !== null || next !== 'connecting')) announce(STATUS_TEXT[next]);
      status = next;
    },
    refresh() {
      if (store.version !== shownVersion) {
        shownVersion = store.version;
        el.count.textContent = String(store.size);
        const tooMany = el.trails.checked && store.size > config.trailMaxVehicles;
        el.trailsNote.textContent = tooMany ? `(hidden above ${config.trailMaxVehicles} vehicles)` : '';
      }
      // nextRetryAt is a browser-clock time (the reconnect timer's), not the relay's.
      el.stats.innerHTML = statsLines(live.stats, {
        wsUrl: config.wsUrl,
        protocol: live.protocol,
        nowMs: clockNow(),
        status,
      }).join('\n');
    },
  };
}
