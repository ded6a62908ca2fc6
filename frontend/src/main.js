// Wiring only: configuration and URL state -> vehicle store, live feed and renderer -> panels.
// Each part lives in its own module (src/live, src/render, src/ui, src/lib).

import './style.css';
import { fetchConfigFile, resolveConfig } from './lib/config.js';
import { vehicleColor } from './lib/live.js';
import { createLiveController } from './live/live-controller.js';
import { createServerClock } from './live/server-clock.js';
import { createVehicleStore } from './live/vehicle-store.js';
import { createRenderer } from './render/renderer.js';
import { createAnnouncer } from './ui/announcer.js';
import { createDetailsPanel } from './ui/details-panel.js';
import { createHistoryController } from './ui/history-controller.js';
import { mapPadding } from './ui/layout.js';
import { renderLegend } from './ui/legend.js';
import { createLivePanel } from './ui/live-panel.js';
import { createSelection } from './ui/selection.js';
import { shortcutFor } from './ui/shortcuts.js';
import { createTooltip } from './ui/tooltip.js';
import { createUrlStateWriter, parseUrlState } from './ui/url-state.js';
import { createVehicleList } from './ui/vehicle-list.js';

const UI_INTERVAL_MS = 500;
const LARGE_FLEET = 10000;
const NARROW = '(max-width: 640px)';

function log(level, msg, extra = {}) {
  const line = JSON.stringify({ ts: new Date().toISOString(), level, msg, ...extra });
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.info(line);
}

const $ = (id) => document.getElementById(id);

async function main() {
  const { fileConfig, note } = await fetchConfigFile(window.fetch.bind(window), document.baseURI);
  const config = resolveConfig({ fileConfig, query: new URLSearchParams(window.location.search), location: window.location });
  if (note) log('info', note);
  for (const warning of config.warnings) log('warn', warning);
  log('info', 'configuration', { wsUrl: config.wsUrl, apiUrl: config.apiUrl, liveWindowSeconds: config.liveWindowSeconds });

  const restored = parseUrlState(window.location.hash);
  const url = createUrlStateWriter({ location: window.location, history: window.history, initial: restored });

  const clock = createServerClock();
  const store = createVehicleStore({ clock });
  store.setThresholds({ staleSeconds: config.staleSeconds, offlineSeconds: config.offlineSeconds });

  const renderer = createRenderer({ container: $('map'), config, store });
  if (restored.view) {
    const { longitude: lon, latitude: lat, zoom, bearing, pitch } = restored.view;
    renderer.setView({ lon, lat, zoom, bearing, pitch });
  }
  renderer.onBasemap?.((info) => log('info', 'basemap', info));

  const { announce } = createAnnouncer($('announcer'));
  const narrow = window.matchMedia(NARROW);

  /** The element's rectangle, or null when it is not rendered (hidden, or display: none by a layout rule). */
  function visibleRect(el) {
    return el.hidden || el.getClientRects().length === 0 ? null : el.getBoundingClientRect();
  }
  /** fitBounds that keeps what it fits out from under the panels. */
  function fitBounds(bounds, options) {
    const padding = mapPadding({
      width: window.innerWidth,
      height: window.innerHeight,
      panel: $('panel').dataset.sheet === 'closed' && narrow.matches ? null : visibleRect($('panel')),
      details: visibleRect($('details')),
      narrow: narrow.matches,
    });
    renderer.fitBounds(bounds, { ...options, padding });
  }

  const live = createLiveController({
    url: config.wsUrl,
    token: config.wsToken,
    format: config.liveFormat,
    store,
    clock,
    maxVehicles: config.maxVehicles,
    liveWindowSeconds: config.liveWindowSeconds,
    // Called only after live.start(), when every panel exists.
    onStatus: (status, stats) => {
      livePanel.setStatus(status);
      if (status === 'closed') log('info', 'ws-relay connection closed', { code: stats.lastCloseCode, reason: stats.lastCloseReason });
      if (status === 'open') log('info', 'ws-relay connected', { url: config.wsUrl });
    },
  });
  live.followRenderer(renderer);
  window.addEventListener('online', () => live.reconnectNow());

  const livePanel = createLivePanel({
    elements: {
      connection: $('connection-state'),
      count: $('vehicle-count'),
      trails: $('show-trails'),
      trailsNote: $('trails-note'),
      fit: $('fit-vehicles'),
      stats: $('stats'),
    },
    config,
    store,
    live,
    renderer: { setShowTrails: (on) => renderer.setShowTrails(on), fitBounds },
    announce,
  });

  let selection = null;
  const list = createVehicleList({
    elements: {
      search: $('vehicle-search'),
      statusFilter: $('vehicle-status-filter'),
      sort: $('vehicle-sort'),
      count: $('vehicle-list-count'),
      viewport: $('vehicle-list'),
    },
    store,
    onSelect: (id) => {
      selection.select(id, { fly: true });
      showDetailsOnPhone();
    },
  });

  const details = createDetailsPanel({
    elements: {
      root: $('details'),
      title: $('details-title'),
      rows: $('details-rows'),
      follow: $('details-follow'),
      zoom: $('details-zoom'),
      close: $('details-close'),
    },
    onFollow: (on) => selection.setFollow(on),
    onZoom: () => selection.zoomTo(),
    onClose: () => selection.select(null),
  });

  selection = createSelection({
    store,
    renderer,
    details,
    list,
    announce,
    onChange: ({ vehicle, follow }) => url.update({ vehicle, follow }),
  });

  const history = createHistoryController({
    elements: {
      start: $('history-start'),
      end: $('history-end'),
      bbox: $('history-bbox'),
      load: $('history-load'),
      tripCount: $('history-trip-count'),
      status: $('history-status'),
      choiceFilter: $('history-choice-filter'),
      choices: $('history-choices'),
      choiceAll: $('history-all'),
      play: $('history-play'),
      speed: $('history-speed'),
      loop: $('history-loop'),
      back: $('history-back'),
      forward: $('history-forward'),
      slider: $('history-time'),
      clock: $('history-clock'),
    },
    config,
    renderer: {
      setHistory: (h) => renderer.setHistory(h),
      fitBounds,
      getBounds: () => lastBounds,
    },
    fetchFn: window.fetch.bind(window),
    colorFor: vehicleColor,
    announce,
    log,
    onChange: () => url.update(history.urlState()),
  });

  renderLegend($('legend'), config);

  // ------------------------------------------------------------------ map events
  let lastBounds = null;
  renderer.onViewChange(({ view, bounds }) => {
    lastBounds = bounds;
    url.update({ view: { longitude: view.lon, latitude: view.lat, zoom: view.zoom, bearing: view.bearing, pitch: view.pitch } });
  });
  renderer.onPick((picked) => {
    if (mode !== 'live') return;
    selection.select(picked && picked.kind === 'vehicle' ? picked.id : null);
    if (selection.selected !== null) showDetailsOnPhone();
  });
  const tooltip = createTooltip({ element: $('tooltip'), store, pixelOf: (lon, lat) => renderer.pixelOf(lon, lat) });
  renderer.onHover((picked) => tooltip.show(picked));
  // A drag means the person wants to look elsewhere: stop following.
  renderer.map?.on?.('dragstart', () => selection.setFollow(false));

  // ------------------------------------------------------------------ mode
  let mode = 'live';
  function setMode(next) {
    if (next !== 'live' && next !== 'history') return;
    mode = next;
    $('mode-live').setAttribute('aria-pressed', String(mode === 'live'));
    $('mode-history').setAttribute('aria-pressed', String(mode === 'history'));
    $('live-panel').hidden = mode !== 'live';
    $('history-panel').hidden = mode !== 'history';
    document.body.dataset.mode = mode;
    renderer.setMode(mode);
    if (mode === 'history') {
      selection.select(null, { silent: true });
      url.update({ mode, ...history.urlState() });
    } else {
      history.pause();
      url.update({ mode });
    }
  }
  $('mode-live').addEventListener('click', () => setMode('live'));
  $('mode-history').addEventListener('click', () => setMode('history'));

  // ------------------------------------------------------------------ keyboard
  document.addEventListener('keydown', (event) => {
    const action = shortcutFor(event);
    if (action === null) return;
    if (action === 'escape') {
      if (selection.following) selection.setFollow(false);
      else if (selection.selected !== null) selection.select(null);
      return;
    }
    // The map's canvas takes arrows for panning; the player only acts in history mode.
    if (mode !== 'history' || event.target.classList?.contains('maplibregl-canvas')) return;
    if (history.handleShortcut(action)) event.preventDefault();
  });

  // ------------------------------------------------------------------ phone layout
  // One bottom sheet at a time: the controls (open), or the selected vehicle's details with the
  // folded controls' header right above them (style.css reads --details-height).
  const panel = $('panel');
  const sheetToggle = $('sheet-toggle');
  function setSheet(open) {
    panel.dataset.sheet = open ? 'open' : 'closed';
    sheetToggle.setAttribute('aria-expanded', String(open));
  }
  function showDetailsOnPhone() {
    if (narrow.matches) setSheet(false);
  }
  sheetToggle.addEventListener('click', () => setSheet(panel.dataset.sheet !== 'open'));
  new ResizeObserver(() => {
    document.documentElement.style.setProperty('--details-height', `${$('details').offsetHeight}px`);
  }).observe($('details'));

  // ------------------------------------------------------------------ refresh loops
  let lastFrame = performance.now();
  function animationFrame(now) {
    const dt = Math.min(250, now - lastFrame);
    lastFrame = now;
    if (mode === 'history') history.tick(dt);
    window.requestAnimationFrame(animationFrame);
  }
  window.requestAnimationFrame(animationFrame);

  let listedAt = 0;
  function refreshUi() {
    livePanel.refresh();
    const now = performance.now();
    // Ages and states move with time even when no frame arrives, so a small fleet is re-listed at
    // the UI's pace (the rows then agree with the details panel). A big fleet changes every frame
    // and re-listing it (a sort of every id when vehicles come and go) costs tens of ms: at most
    // every 2 s then.
    const due = store.size < LARGE_FLEET || now - listedAt > 2000;
    if (mode === 'live' && due) {
      listedAt = now;
      list.refresh();
    }
    selection.refresh();
    if (mode === 'history') history.refreshClock();
  }
  window.setInterval(refreshUi, UI_INTERVAL_MS);
  store.subscribe(() => {
    if (selection.following) selection.refresh();
  });

  // ------------------------------------------------------------------ restore from the URL
  if (restored.vehicle) {
    selection.select(restored.vehicle, { silent: true });
    if (restored.follow) selection.setFollow(true, { silent: true });
    if (narrow.matches) setSheet(false);
  }
  history.restore(restored);
  if (restored.mode === 'history') {
    setMode('history');
    Promise.resolve(renderer.ready).then(() => history.load());
  }

  window.__geostream = { config, store, live, renderer, clock, selection, history, list, url, setMode };

  live.start();
  refreshUi();
}

main().catch((err) => {
  log('error', 'start-up failed', { error: String(err && err.stack ? err.stack : err) });
  const el = document.getElementById('connection-state');
  if (el) {
    el.textContent = 'closed';
    el.dataset.state = 'closed';
  }
});
