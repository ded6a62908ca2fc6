// Wiring: config -> WebSocket -> live state -> deck.gl layers and DOM; history mode via trips-api.
// All state logic lives in src/lib (pure, unit-tested); this file only connects it to the page.

import './style.css';
import { Deck, MapView, WebMercatorViewport } from '@deck.gl/core';
import { createBasemap } from './basemap.js';
import { createIconAtlas } from './icons.js';
import { headsLayer, trailsLayer, tripsLayer, vehiclesLayer } from './layers.js';
import { fetchConfigFile, resolveConfig } from './lib/config.js';
import { parseFrame } from './lib/frames.js';
import {
  applyFrame,
  buildTrailSegments,
  buildVehicleBuffers,
  clearLive,
  createLiveState,
  pruneOutside,
  pruneStale,
  vehicleColor,
} from './lib/live.js';
import {
  SPEEDS,
  advancePlayback,
  buildHeadBuffers,
  createPlayback,
  fetchTrips,
  parseTimeInput,
  prepareTrips,
  seekPlayback,
  toEpochMs,
  trailLengthFor,
} from './lib/history.js';
import { LiveConnection } from './lib/ws-client.js';
import {
  diffIds,
  escapeHtml,
  formatDuration,
  formatUtc,
  vehicleTooltipHtml,
  viewportBbox,
} from './lib/format.js';

const INITIAL_VIEW_STATE = { longitude: 10, latitude: 30, zoom: 1.3, pitch: 0, bearing: 0 };
const UI_INTERVAL_MS = 200;
const PRUNE_INTERVAL_MS = 1000;
const VIEWPORT_DEBOUNCE_MS = 300;

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

  const state = {
    mode: 'live',
    config,
    connection: { status: 'connecting', opens: 0, retries: 0, attempt: 0, nextRetryAt: null },
    live: createLiveState(config),
    history: {
      trips: [],
      tripCount: 0,
      originMs: null,
      spanSec: 0,
      trailLengthSec: 60,
      playback: createPlayback(0),
      loading: false,
      error: null,
      truncated: false,
      range: null,
    },
    showTrails: config.trailPoints > 0,
    viewportFilter: false,
    viewportBbox: null,
    renders: 0,
  };

  // ---------------------------------------------------------------- rendering
  const icons = createIconAtlas();
  const vehicleCache = {};
  const trailCache = {};
  const headCache = {};
  let vehicleBuf = buildVehicleBuffers(state.live, vehicleCache);
  let trailBuf = buildTrailSegments(state.live, trailCache);
  let headBuf = buildHeadBuffers([], 0, 0, headCache);
  let renderedLiveVersion = -1;
  let layersDirty = true;
  const EMPTY_TRAILS = buildTrailSegments(createLiveState(), {});

  function trailsShown() {
    return state.showTrails && state.live.vehicles.size <= config.trailMaxVehicles;
  }

  // preserveDrawingBuffer/antialias off: about twice the frame rate with software GL.
  const deviceProps = {
    webgl: { preserveDrawingBuffer: config.preserveDrawingBuffer, antialias: config.antialias },
  };

  // The basemap has its own Deck (and canvas) under the data: it only redraws when the view
  // moves, not on every live update, which matters a lot with software rendering.
  const baseDeck = new Deck({
    parent: $('basemap'),
    views: new MapView({ repeat: true }),
    viewState: INITIAL_VIEW_STATE,
    controller: false,
    layers: [],
    deviceProps,
    onError: (error) => {
      log('error', 'deck.gl basemap error', { error: String(error && error.message ? error.message : error) });
    },
  });
  const basemap = createBasemap(() => baseDeck.setProps({ layers: [basemap.layer()] }), {
    detailed: config.detailedBasemap,
  });

  const deck = new Deck({
    parent: $('map'),
    views: new MapView({ repeat: true }),
    initialViewState: INITIAL_VIEW_STATE,
    controller: true,
    layers: [],
    deviceProps,
    onViewStateChange: ({ viewState }) => {
      baseDeck.setProps({ viewState });
      basemap.maybeLoadDetailed(viewState.zoom);
      scheduleViewportSend();
      return viewState;
    },
    onAfterRender: () => {
      state.renders += 1;
    },
    onError: (error) => {
      log('error', 'deck.gl error', { error: String(error && error.message ? error.message : error) });
    },
    getTooltip: (info) => tooltipFor(info),
  });

  function tooltipFor({ layer, index, object }) {
    if (!layer || index < 0) return null;
    if (layer.id === 'live-vehicles') {
      const v = state.live.vehicles.get(vehicleBuf.ids[index]);
      return v ? { html: vehicleTooltipHtml(v, Date.now()) } : null;
    }
    if (layer.id === 'history-heads') {
      const id = headBuf.ids[index];
      const at = formatUtc(toEpochMs(state.history.playback.currentSec, state.history.originMs));
      return id ? { html: `<strong>${escapeHtml(id)}</strong><br>${escapeHtml(at)}` } : null;
    }
    if (layer.id === 'history-trips' && object) {
      const first = toEpochMs(object.timestamps[0], state.history.originMs);
      const last = toEpochMs(object.timestamps[object.timestamps.length - 1], state.history.originMs);
      return { html: `<strong>${escapeHtml(object.id)}</strong><br>${escapeHtml(formatUtc(first))} → ${escapeHtml(formatUtc(last))}` };
    }
    return null;
  }

  function buildLayers() {
    const live = state.mode === 'live';
    const history = state.history;
    const trails = live && trailsShown();
    if (live && state.live.version !== renderedLiveVersion) {
      vehicleBuf = buildVehicleBuffers(state.live, vehicleCache);
      trailBuf = trails ? buildTrailSegments(state.live, trailCache) : EMPTY_TRAILS;
      renderedLiveVersion = state.live.version;
    }
    if (!live) {
      headBuf = buildHeadBuffers(history.trips, history.playback.currentSec, history.trailLengthSec, headCache);
    }
    deck.setProps({
      layers: [
        trailsLayer(trailBuf, trails),
        vehiclesLayer(vehicleBuf, icons, live),
        tripsLayer(history, !live),
        headsLayer(headBuf, !live),
      ],
    });
  }

  let lastFrameAt = performance.now();
  function animationFrame(now) {
    const dt = Math.min(250, now - lastFrameAt);
    lastFrameAt = now;
    let dirty = layersDirty;
    if (state.mode === 'live' && state.live.version !== renderedLiveVersion) dirty = true;
    if (state.mode === 'history' && state.history.playback.playing) {
      advancePlayback(state.history.playback, dt);
      dirty = true;
    }
    if (dirty) {
      layersDirty = false;
      buildLayers();
    }
    window.requestAnimationFrame(animationFrame);
  }
  window.requestAnimationFrame(animationFrame);

  // ---------------------------------------------------------------- live connection
  const connState = $('connection-state');
  let garbageLogged = 0;

  function handleMessage(data) {
    const frame = parseFrame(data);
    if (frame.kind === 'garbage' && garbageLogged < 20) {
      garbageLogged += 1;
      log('warn', 'ignored garbage frame', { reason: frame.reason });
    } else if (frame.kind === 'error') {
      log('warn', 'ws-relay reported an error', { error: frame.error });
    }
    applyFrame(state.live, frame, Date.now());
    // The relay filters by viewport, but a snapshot is sent before it knows ours.
    if (state.viewportBbox && (frame.kind === 'snapshot' || frame.kind === 'update')) {
      pruneOutside(state.live, state.viewportBbox);
    }
  }

  const connection = new LiveConnection({
    url: config.wsUrl,
    onMessage: handleMessage,
    onStatus: (status) => {
      state.connection.status = status;
      connState.textContent = status;
      connState.dataset.state = status;
      if (status === 'closed' && connection) {
        log('info', 'ws-relay connection closed', {
          code: connection.stats.lastCloseCode,
          reason: connection.stats.lastCloseReason,
        });
      }
    },
    onOpen: () => {
      log('info', 'ws-relay connected', { url: config.wsUrl });
      if (state.viewportFilter) sendViewport();
    },
  });
  window.addEventListener('online', () => connection.reconnectNow());

  // ---------------------------------------------------------------- viewport filter
  let viewportTimer = null;

  function currentBounds() {
    const viewport = deck.getViewports()[0];
    return viewport ? viewport.getBounds() : null;
  }

  function sendViewport() {
    const bbox = state.viewportFilter ? viewportBbox(currentBounds()) : null;
    state.viewportBbox = bbox;
    connection.send({ type: 'viewport', bbox });
    if (bbox) pruneOutside(state.live, bbox);
  }

  function scheduleViewportSend() {
    if (!state.viewportFilter) return;
    if (viewportTimer !== null) window.clearTimeout(viewportTimer);
    viewportTimer = window.setTimeout(() => {
      viewportTimer = null;
      sendViewport();
    }, VIEWPORT_DEBOUNCE_MS);
  }

  $('viewport-filter').addEventListener('change', (event) => {
    state.viewportFilter = event.target.checked;
    if (state.viewportFilter) {
      sendViewport();
    } else {
      // The relay only re-sends what changes; a new connection brings a complete snapshot.
      state.viewportBbox = null;
      clearLive(state.live);
      connection.stop();
      connection.start();
    }
  });

  const trailsBox = $('show-trails');
  trailsBox.checked = state.showTrails;
  trailsBox.disabled = config.trailPoints === 0;
  trailsBox.addEventListener('change', () => {
    state.showTrails = trailsBox.checked;
    renderedLiveVersion = -1;
    layersDirty = true;
  });

  // ---------------------------------------------------------------- fitting the view
  function fitTo(points) {
    if (points.length === 0) return;
    let minLon = Infinity;
    let minLat = Infinity;
    let maxLon = -Infinity;
    let maxLat = -Infinity;
    for (const [lon, lat] of points) {
      minLon = Math.min(minLon, lon);
      maxLon = Math.max(maxLon, lon);
      minLat = Math.min(minLat, lat);
      maxLat = Math.max(maxLat, lat);
    }
    const { width, height } = deck;
    if (!width || !height) return;
    const pad = 0.01;
    const viewport = new WebMercatorViewport({ width, height });
    const { longitude, latitude, zoom } = viewport.fitBounds(
      [
        [minLon - pad, Math.max(-85, minLat - pad)],
        [maxLon + pad, Math.min(85, maxLat + pad)],
      ],
      { padding: Math.min(80, Math.floor(Math.min(width, height) / 6)) },
    );
    const target = { longitude, latitude, zoom: Math.min(zoom, 14), pitch: 0, bearing: 0 };
    deck.setProps({ initialViewState: { ...target, transitionDuration: 600 } });
    baseDeck.setProps({ viewState: target });
  }

  $('fit-vehicles').addEventListener('click', () => {
    fitTo([...state.live.vehicles.values()].map((v) => [v.lon, v.lat]));
  });

  // ---------------------------------------------------------------- mode switch
  const modeLive = $('mode-live');
  const modeHistory = $('mode-history');

  function setMode(mode) {
    if (mode !== 'live' && mode !== 'history') return;
    state.mode = mode;
    modeLive.setAttribute('aria-pressed', String(mode === 'live'));
    modeHistory.setAttribute('aria-pressed', String(mode === 'history'));
    $('live-panel').hidden = mode !== 'live';
    $('history-panel').hidden = mode !== 'history';
    document.body.dataset.mode = mode;
    if (mode === 'live') setPlaying(false);
    renderedLiveVersion = -1;
    layersDirty = true;
  }
  modeLive.addEventListener('click', () => setMode('live'));
  modeHistory.addEventListener('click', () => setMode('history'));

  // ---------------------------------------------------------------- history
  const startInput = $('history-start');
  const endInput = $('history-end');
  const loadButton = $('history-load');
  const playButton = $('history-play');
  const speedSelect = $('history-speed');
  const slider = $('history-time');
  const clock = $('history-clock');
  const historyStatus = $('history-status');
  let historyAbort = null;

  for (const s of SPEEDS) {
    const option = document.createElement('option');
    option.value = String(s);
    option.textContent = `${s}×`;
    speedSelect.append(option);
  }
  speedSelect.value = String(state.history.playback.speed);

  function setPlaying(playing) {
    const pb = state.history.playback;
    pb.playing = playing && state.history.trips.length > 0;
    playButton.textContent = pb.playing ? 'Pause' : 'Play';
    playButton.dataset.playing = String(pb.playing);
  }

  function renderHistoryClock() {
    const h = state.history;
    if (h.originMs === null) {
      clock.textContent = '';
      return;
    }
    const t = h.playback.currentSec;
    slider.value = String(t);
    clock.textContent = `${formatUtc(toEpochMs(t, h.originMs))}  (+${formatDuration(t)} / ${formatDuration(h.spanSec)})`;
  }

  async function loadHistory() {
    const now = Date.now();
    const start = parseTimeInput(startInput.value, now);
    const end = parseTimeInput(endInput.value, now);
    if (start === null || end === null) {
      historyStatus.textContent = 'invalid time: use ISO 8601, epoch ms or now-1h';
      return;
    }
    if (start >= end) {
      historyStatus.textContent = 'the start must be before the end';
      return;
    }
    if (historyAbort) historyAbort.abort();
    const abort = new AbortController();
    historyAbort = abort;
    const bbox = $('history-bbox').checked ? viewportBbox(currentBounds(), 0) : null;
    const h = state.history;
    h.loading = true;
    h.error = null;
    h.range = { start, end, bbox };
    setPlaying(false);
    historyStatus.textContent = 'loading…';
    loadButton.disabled = true;
    try {
      const result = await fetchTrips(
        window.fetch.bind(window),
        config.apiUrl,
        { start, end, bbox },
        { pageSize: config.historyPageSize, maxTrips: config.historyMaxTrips, signal: abort.signal },
      );
      if (abort.signal.aborted) return;
      const prepared = prepareTrips(result.trips, vehicleColor);
      h.trips = prepared.trips;
      h.tripCount = prepared.trips.length;
      h.originMs = prepared.originMs;
      h.spanSec = prepared.spanSec;
      h.truncated = result.truncated;
      h.trailLengthSec = trailLengthFor(prepared.spanSec);
      h.playback = createPlayback(prepared.spanSec);
      speedSelect.value = String(h.playback.speed);
      slider.max = String(prepared.spanSec);
      slider.disabled = h.trips.length === 0;
      playButton.disabled = h.trips.length === 0;
      $('history-trip-count').textContent = String(h.tripCount);
      const notes = [];
      if (result.truncated) notes.push(`first ${config.historyMaxTrips} only`);
      if (prepared.invalid) notes.push(`${prepared.invalid} unusable`);
      historyStatus.textContent = notes.length ? `(${notes.join(', ')})` : '';
      log('info', 'history loaded', { trips: h.tripCount, pages: result.pages, spanSec: h.spanSec });
      renderHistoryClock();
      layersDirty = true;
      if (h.trips.length > 0) fitTo(h.trips.flatMap((t) => t.path));
    } catch (err) {
      if (abort.signal.aborted) return;
      h.error = String(err && err.message ? err.message : err);
      historyStatus.textContent = `error: ${h.error}`;
      log('error', 'history load failed', { error: h.error });
    } finally {
      if (historyAbort === abort) {
        historyAbort = null;
        h.loading = false;
        loadButton.disabled = false;
      }
    }
  }

  loadButton.addEventListener('click', () => {
    loadHistory();
  });
  for (const input of [startInput, endInput]) {
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') loadHistory();
    });
  }
  playButton.addEventListener('click', () => setPlaying(!state.history.playback.playing));
  speedSelect.addEventListener('change', () => {
    state.history.playback.speed = Number(speedSelect.value);
  });
  slider.addEventListener('input', () => {
    seekPlayback(state.history.playback, Number(slider.value));
    renderHistoryClock();
    layersDirty = true;
  });

  // ---------------------------------------------------------------- DOM refresh
  const countEl = $('vehicle-count');
  const idsEl = $('vehicle-ids');
  const statsEl = $('stats');
  const trailsNote = $('trails-note');
  const idItems = new Map();
  let uiLiveVersion = -1;

  function renderVehicleList() {
    const { added, removed } = diffIds(idItems.keys(), state.live.vehicles.keys());
    for (const id of removed) {
      idItems.get(id).remove();
      idItems.delete(id);
    }
    if (added.length) {
      const fragment = document.createDocumentFragment();
      for (const id of added) {
        const li = document.createElement('li');
        li.dataset.vehicleId = id;
        li.textContent = id;
        idItems.set(id, li);
        fragment.append(li);
      }
      idsEl.append(fragment);
    }
  }

  function renderStats() {
    const c = state.live.counters;
    const conn = connection.stats;
    const lines = [
      `frames <span data-testid="frames-count">${c.frames}</span> · ignored <span data-testid="garbage-count">${c.garbage}</span> · errors ${c.errors}`,
      `invalid points ${c.invalidPoints} · too old ${c.stalePoints} · out of order ${c.outOfOrderPoints}`,
      `connections ${conn.opens} · retries ${conn.retries}`,
    ];
    if (state.connection.status === 'closed' && connection.nextRetryAt) {
      const s = Math.max(0, Math.ceil((connection.nextRetryAt - Date.now()) / 1000));
      lines.push(`reconnecting in ${s} s`);
    }
    lines.push(`<span title="WebSocket URL">${escapeHtml(config.wsUrl)}</span>`);
    statsEl.innerHTML = lines.join('\n');
  }

  function refreshUi() {
    state.connection.opens = connection.stats.opens;
    state.connection.retries = connection.stats.retries;
    state.connection.attempt = connection.attempt;
    state.connection.nextRetryAt = connection.nextRetryAt;
    if (state.live.version !== uiLiveVersion) {
      uiLiveVersion = state.live.version;
      countEl.textContent = String(state.live.vehicles.size);
      renderVehicleList();
      const tooMany = state.showTrails && state.live.vehicles.size > config.trailMaxVehicles;
      trailsNote.textContent = tooMany ? `(hidden above ${config.trailMaxVehicles} vehicles)` : '';
    }
    renderStats();
    if (state.mode === 'history' && state.history.playback.playing) renderHistoryClock();
  }

  window.setInterval(refreshUi, UI_INTERVAL_MS);
  window.setInterval(() => pruneStale(state.live, Date.now()), PRUNE_INTERVAL_MS);

  window.__geostream = {
    state,
    deck,
    baseDeck,
    connection,
    config,
    setMode,
    loadHistory,
    /** Feed one raw frame as if it came from ws-relay (benchmarks). */
    applyFrameText: handleMessage,
  };

  connection.start();
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
