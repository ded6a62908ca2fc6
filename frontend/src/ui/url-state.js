// What the page shows, kept in the URL's fragment so a reload or a shared link lands in the same
// state: view, mode, selected vehicle, follow, history window and vehicle choice. The query string
// stays for configuration overrides (lib/config.js), so the two never collide.
//
//   #map=12.50/48.85660/2.35220/30/0&mode=history&vehicle=truck-7&follow=1&from=now-1h&to=now&only=a&only=b

const MAX_ID_LENGTH = 128;
const MAX_TIME_LENGTH = 64;
const MAX_HISTORY_VEHICLES = 200;

const clamp = (x, lo, hi) => Math.min(hi, Math.max(lo, x));

function wrapLongitude(lon) {
  if (lon >= -180 && lon <= 180) return lon;
  return ((((lon + 180) % 360) + 360) % 360) - 180;
}

function parseView(text) {
  if (typeof text !== 'string') return null;
  const parts = text.split('/').map((p) => (p.trim() === '' ? Number.NaN : Number(p)));
  if (parts.length < 3 || parts.length > 5 || !parts.every(Number.isFinite)) return null;
  const [zoom, latitude, longitude, bearing = 0, pitch = 0] = parts;
  return {
    longitude: wrapLongitude(longitude),
    latitude: clamp(latitude, -85.05113, 85.05113),
    zoom: clamp(zoom, 0, 22),
    bearing: clamp(bearing, -180, 180),
    pitch: clamp(pitch, 0, 85),
  };
}

function formatView(view) {
  const round = (x, digits) => Number(x.toFixed(digits));
  const parts = [round(view.zoom, 2), round(view.latitude, 5), round(view.longitude, 5)];
  const bearing = round(view.bearing ?? 0, 1);
  const pitch = round(view.pitch ?? 0, 1);
  if (bearing !== 0 || pitch !== 0) parts.push(bearing, pitch);
  return parts.join('/');
}

function cleanText(value, maxLength) {
  if (typeof value !== 'string') return null;
  const s = value.trim();
  if (s === '' || s.length > maxLength) return null;
  // Control characters never belong to an id or a time.
  for (const ch of s) {
    const code = ch.codePointAt(0);
    if (code < 0x20 || (code >= 0x7f && code < 0xa0)) return null;
  }
  return s;
}

/** State from a location fragment ("#..." or ""). Anything unreadable is left out, never thrown. */
export function parseUrlState(hash) {
  const params = new URLSearchParams(typeof hash === 'string' ? hash.replace(/^#/, '') : '');
  const state = {
    view: parseView(params.get('map')),
    mode: params.get('mode') === 'history' ? 'history' : 'live',
    vehicle: cleanText(params.get('vehicle'), MAX_ID_LENGTH),
    follow: false,
    from: cleanText(params.get('from'), MAX_TIME_LENGTH),
    to: cleanText(params.get('to'), MAX_TIME_LENGTH),
    only: [],
  };
  state.follow = state.vehicle !== null && params.get('follow') === '1';
  const only = new Set();
  for (const id of params.getAll('only')) {
    const clean = cleanText(id, MAX_ID_LENGTH);
    if (clean && only.size < MAX_HISTORY_VEHICLES) only.add(clean);
  }
  state.only = [...only];
  return state;
}

/** Fragment (with "#") for a state; defaults are left out so a plain page has a short URL. */
export function formatUrlState(state) {
  const params = new URLSearchParams();
  if (state.view) params.set('map', formatView(state.view));
  if (state.mode === 'history') params.set('mode', 'history');
  if (state.vehicle) {
    params.set('vehicle', state.vehicle);
    if (state.follow) params.set('follow', '1');
  }
  if (state.mode === 'history') {
    if (state.from) params.set('from', state.from);
    if (state.to) params.set('to', state.to);
    for (const id of state.only ?? []) params.append('only', id);
  }
  const text = params.toString();
  return text ? `#${text}` : '';
}

/**
 * Keeps the fragment in step with the page: `update(partial)` merges into the current state and
 * writes it with history.replaceState at most every `intervalMs` (a pan fires dozens of view
 * changes a second, and browsers throttle replaceState).
 */
export function createUrlStateWriter({ location, history, initial, intervalMs = 250, timers = globalThis }) {
  let state = { ...initial };
  let timer = null;
  let written = location.hash;

  function flush() {
    timer = null;
    const hash = formatUrlState(state);
    if (hash === written) return;
    written = hash;
    const url = `${location.pathname}${location.search}${hash}`;
    history.replaceState(history.state, '', url);
  }

  return {
    get state() {
      return state;
    },
    update(partial) {
      state = { ...state, ...partial };
      if (timer === null) timer = timers.setTimeout(flush, intervalMs);
    },
    flush() {
      if (timer !== null) timers.clearTimeout(timer);
      flush();
    },
  };
}
