// The selected vehicle's details: id, source, speed, heading, altitude, battery, last seen (on the
// relay's clock) and position, with Follow, Zoom to and Close.

import {
  formatAge,
  formatAltitude,
  formatBattery,
  formatHeading,
  formatLocal,
  formatPosition,
  formatSpeed,
  formatUtc,
} from '../lib/format.js';

/**
 * Rows of the panel for a point ({vehicle_id, ts, lon, lat, speed?, heading?, alt?, battery?,
 * source?}) or null when the vehicle is no longer live. `title` is the hover text.
 */
export function detailRows(point, ageMs, status) {
  if (!point) return [{ key: 'seen', label: 'Last seen', value: 'not in the live feed' }];
  return [
    { key: 'status', label: 'Status', value: status ?? 'unknown' },
    { key: 'source', label: 'Source', value: point.source || 'unknown' },
    { key: 'speed', label: 'Speed', value: formatSpeed(point.speed) },
    { key: 'heading', label: 'Heading', value: formatHeading(point.heading) },
    { key: 'alt', label: 'Altitude', value: formatAltitude(point.alt) },
    { key: 'battery', label: 'Battery', value: formatBattery(point.battery) },
    {
      key: 'seen',
      label: 'Last seen',
      value: formatAge(ageMs),
      title: `${formatLocal(point.ts)} (${formatUtc(point.ts)})`,
    },
    { key: 'position', label: 'Position', value: formatPosition(point.lon, point.lat) },
  ];
}

/**
 * Binds the panel: `elements` = {root, title, rows (a <dl>), follow, zoom, close}. Buttons call
 * `onFollow(bool)`, `onZoom()`, `onClose()`. `show(id, point, ageMs, status)` and `hide()`.
 */
export function createDetailsPanel({ elements, onFollow, onZoom, onClose }) {
  const { root, title, rows, follow, zoom, close } = elements;
  const doc = root.ownerDocument;
  const cells = new Map();
  let following = false;

  follow.addEventListener('click', () => onFollow(!following));
  zoom.addEventListener('click', () => onZoom());
  close.addEventListener('click', () => onClose());

  function cell(key, label) {
    let entry = cells.get(key);
    if (!entry) {
      const dt = doc.createElement('dt');
      const dd = doc.createElement('dd');
      dd.dataset.testid = `detail-${key}`;
      rows.append(dt, dd);
      entry = { dt, dd };
      cells.set(key, entry);
    }
    entry.dt.textContent = label;
    return entry.dd;
  }

  return {
    show(id, point, ageMs, status) {
      root.hidden = false;
      root.dataset.vehicleId = id;
      root.dataset.state = status ?? 'gone';
      title.textContent = id;
      const seen = new Set();
      for (const row of detailRows(point, ageMs, status)) {
        const dd = cell(row.key, row.label);
        dd.textContent = row.value;
        if (row.title) dd.title = row.title;
        else dd.removeAttribute('title');
        seen.add(row.key);
      }
      for (const [key, { dt, dd }] of cells) {
        dt.hidden = !seen.has(key);
        dd.hidden = !seen.has(key);
      }
      zoom.disabled = !point;
      follow.disabled = !point;
    },
    hide() {
      root.hidden = true;
      delete root.dataset.vehicleId;
    },
    setFollow(on) {
      following = on;
      follow.setAttribute('aria-pressed', String(on));
      follow.textContent = on ? 'Following' : 'Follow';
    },
  };
}
