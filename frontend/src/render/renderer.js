// The map: MapLibre GL draws the basemap (configured style, XYZ raster or PMTiles; the bundled
// offline world map when that fails) with zoom/compass, scale and attribution controls, and
// deck.gl draws the vehicles on top (MapboxOverlay, its own canvas: live updates redraw deck.gl
// only, never the basemap). Live vehicles come from the vehicle store, one point per slot.

import * as maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
// The bundled MapLibre cannot find its worker next to itself: ship the worker file as an asset.
import maplibreWorkerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import { MapboxOverlay } from '@deck.gl/mapbox';
import {
  DEFAULT_TIMEOUT_S,
  createBasemapWatchdog,
  parseBasemapSetting,
  rasterPmtilesStyle,
  vectorPmtilesStyle,
  xyzStyle,
} from '../basemap.js';
import { loadOfflineStyle } from '../basemap-offline.js';
import { vehicleColor } from '../lib/live.js';
import { LIVE_LAYER_IDS, densityLayer, headsLayer, selectionLayer, trailsLayer, tripsLayer, vehiclesLayer } from './layers.js';
import { countInBounds, crowdSizes } from './crowd.js';
import { binDensity, densityLevel } from './density.js';
import { createTrails } from './trails.js';
import { createVehicleAttributes } from './vehicle-attributes.js';
import { sizesForZoom } from './vehicle-layer.js';
import { relayBbox, shouldAggregate } from './view.js';

const INITIAL_VIEW = { lon: 10, lat: 30, zoom: 1.3, bearing: 0, pitch: 0 };
const RESTYLE_INTERVAL_MS = 1000;
// A density grid is a summary: re-aggregating it once a second is enough, not on every frame.
const DENSITY_INTERVAL_MS = 1000;
// Vehicles in view are recounted at most once a second while positions change (and at once when the view moves).
const CROWD_INTERVAL_MS = 1000;
const EMPTY_STYLE = { version: 8, sources: {}, layers: [] };

maplibregl.setWorkerUrl(maplibreWorkerUrl);

let pmtilesProtocol = null;

function log(level, msg, extra = {}) {
  const line = JSON.stringify({ ts: new Date().toISOString(), level, msg, ...extra });
  if (level === 'warn') console.warn(line);
  else console.info(line);
}

// PMTiles support is loaded only when the basemap is a PMTiles archive (a separate chunk).
async function pmtilesStyle(url, config) {
  const { PMTiles, Protocol, TileType } = await import('pmtiles');
  if (!pmtilesProtocol) {
    pmtilesProtocol = new Protocol();
    maplibregl.addProtocol('pmtiles', pmtilesProtocol.tile);
  }
  const archive = new PMTiles(url);
  pmtilesProtocol.add(archive);
  const header = await archive.getHeader();
  const attribution = config.basemapAttribution || '';
  if (header.tileType === TileType.Mvt) {
    const { layers: protomapsLayers, namedFlavor } = await import('@protomaps/basemaps');
    const layers = protomapsLayers('protomaps', namedFlavor('light'), { lang: 'en' });
    return vectorPmtilesStyle(url, layers, { attribution, glyphs: config.basemapGlyphs || '' });
  }
  return rasterPmtilesStyle(url, attribution);
}

export function createRenderer({ container, config = {}, store }) {
  const listeners = { pick: new Set(), hover: new Set(), view: new Set(), basemap: new Set() };
  const emit = (kind, value) => {
    for (const fn of listeners[kind]) fn(value);
  };
  const on = (kind) => (fn) => {
    listeners[kind].add(fn);
    return () => listeners[kind].delete(fn);
  };

  // ------------------------------------------------------------------ basemap
  const setting = parseBasemapSetting(config.basemap);
  const basemap = { kind: setting.kind, fallback: false, reason: null };
  const watchdog = createBasemapWatchdog();
  const map = new maplibregl.Map({
    container,
    style: setting.kind === 'style' ? setting.url : setting.kind === 'xyz' ? xyzStyle(setting.url, config.basemapAttribution) : EMPTY_STYLE,
    center: [INITIAL_VIEW.lon, INITIAL_VIEW.lat],
    zoom: INITIAL_VIEW.zoom,
    maxPitch: 60,
    attributionControl: { compact: false },
    canvasContextAttributes: { antialias: Boolean(config.antialias), preserveDrawingBuffer: Boolean(config.preserveDrawingBuffer) },
  });
  map.addControl(new maplibregl.NavigationControl({ visualizePitch: true }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');

  async function useOfflineBasemap(reason) {
    basemap.fallback = setting.kind !== 'offline';
    basemap.reason = reason;
    if (basemap.fallback) log('warn', 'basemap unavailable: using the offline world basemap', { basemap: config.basemap, reason });
    try {
      map.setStyle(await loadOfflineStyle(), { diff: false });
    } catch (err) {
      log('warn', 'offline basemap failed', { error: String(err) });
    }
    emit('basemap', { ...basemap });
  }

  function onWatchdog(decision) {
    if (decision && decision.action === 'fallback') useOfflineBasemap(decision.reason);
  }

  if (setting.kind === 'offline') {
    watchdog.styleLoaded();
    useOfflineBasemap('configured');
  } else {
    map.once('style.load', () => onWatchdog(watchdog.styleLoaded()));
    map.on('data', (event) => {
      if (event.dataType === 'source' && event.tile && !watchdog.decided) onWatchdog(watchdog.tileLoaded());
    });
    const timeoutS = Number.isFinite(config.basemapTimeoutSeconds) ? config.basemapTimeoutSeconds : DEFAULT_TIMEOUT_S;
    setTimeout(() => onWatchdog(watchdog.timeout()), timeoutS * 1000);
    if (setting.kind === 'pmtiles') {
      pmtilesStyle(setting.url, config)
        .then((style) => map.setStyle(style))
        .catch((err) => onWatchdog(watchdog.error(String(err))));
    }
  }
  // With a listener MapLibre does not log errors itself; failed tiles are expected offline.
  map.on('error', (event) => {
    const message = String(event.error && event.error.message ? event.error.message : event.error);
    if (watchdog.decided) return;
    onWatchdog(watchdog.error(message, { isTile: Boolean(event.tile || event.sourceId || event.source) }));
  });

  // ------------------------------------------------------------------ vehicles
  let attributes = createVehicleAttributes({ interpolate: Boolean(config.interpolate) });
  const trails = createTrails({
    points: config.trailPoints ?? 20,
    seconds: config.trailSeconds ?? 120,
  });
  const trailMaxVehicles = config.trailMaxVehicles ?? 2000;
  const serverNow = () => (store.clock ? store.clock.now() : null);

  const state = {
    mode: 'live',
    selected: null,
    showTrails: (config.trailPoints ?? 20) > 0,
    history: null,
    revision: 0,
    aggregated: false,
    redraws: 0,
    // Marker sizes: the zoom's full sizes (zoomSizes), shrunk when the view is crowded (sizes).
    zoomSizes: sizesForZoom(INITIAL_VIEW.zoom),
    sizes: sizesForZoom(INITIAL_VIEW.zoom),
    crowdAt: -Infinity,
    inView: 0,
    densityAt: -Infinity,
    densityLevel: -1,
    densityCells: null,
    animating: false,
  };
  let liveData = null;
  let liveLayers = null;
  let historyLayers = [];
  let flushScheduled = false;

  function buildLiveData(aggregated) {
    const d = attributes.descriptors(store.highWater);
    const length = attributes.capacity;
    if (!liveData || liveData.length !== length) {
      liveData = { length, vehicles: { length, attributes: {} } };
    }
    Object.assign(liveData.vehicles.attributes, {
      positions: d.positions,
      angles: d.angles,
      colors: d.colors,
      shapes: d.shapes,
      ...(attributes.interpolate ? { prevPositions: d.prevPositions, times: d.times } : {}),
    });
    // The grid is re-binned at most once a second, or at once when the zoom changes its cell size.
    const now = performance.now();
    const level = densityLevel(map.getZoom());
    if (aggregated && (now - state.densityAt >= DENSITY_INTERVAL_MS || level !== state.densityLevel)) {
      state.densityAt = now;
      state.densityLevel = level;
      const { positions, weights } = attributes.arrays;
      state.densityCells = binDensity(positions, weights, Math.min(store.highWater, attributes.capacity), level);
    }
  }

  function trailsShown() {
    return state.showTrails && trails.enabled && store.size <= trailMaxVehicles;
  }

  function rebuildLiveLayers() {
    const live = state.mode === 'live';
    const aggregated = shouldAggregate(store.size, map.getZoom(), config);
    if (aggregated && !state.aggregated) state.densityAt = -Infinity;
    if (!aggregated) state.densityCells = null;
    state.aggregated = aggregated;
    buildLiveData(live && aggregated);
    const revision = state.revision;
    const layers = [];
    if (trailsShown()) {
      layers.push(trailsLayer(trails.segments((slot) => vehicleColor(store.idAt(slot) ?? '')), live));
    }
    if (state.densityCells) layers.push(densityLayer(state.densityCells, { visible: live && aggregated }));
    layers.push(
      vehiclesLayer(liveData.vehicles, {
        visible: live && !aggregated,
        revision,
        numInstances: Math.min(store.highWater, attributes.capacity),
        sizes: state.sizes,
        interpolate: attributes.interpolate,
        timeSource: attributes.now,
      }),
    );
    const slot = state.selected === null ? -1 : store.slotOf(state.selected);
    const c = store.columns;
    layers.push(selectionLayer(live && slot >= 0 ? [c.lon[slot], c.lat[slot]] : null));
    liveLayers = layers;
  }

  function flush() {
    flushScheduled = false;
    if (liveLayers === null) rebuildLiveLayers();
    overlay.setProps({ layers: [...liveLayers, ...historyLayers] });
    if (attributes.interpolate) animate();
  }

  // Interpolation: redraw on every animation frame while some vehicle is still gliding, then stop.
  function animate() {
    if (state.animating) return;
    state.animating = true;
    const step = () => {
      const deck = overlay._deck;
      if (state.mode !== 'live' || state.aggregated || attributes.now() > attributes.animateUntil || !deck) {
        state.animating = false;
        return;
      }
      deck.redraw('interpolation');
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  }

  function scheduleFlush({ live = false } = {}) {
    if (live) {
      state.revision += 1;
      liveLayers = null;
    }
    if (flushScheduled) return;
    flushScheduled = true;
    requestAnimationFrame(flush);
  }

  store.subscribe(({ upserted, removedSlots, cleared }) => {
    const now = serverNow();
    if (cleared) {
      trails.clear();
      attributes.syncAll(store, now);
    } else {
      attributes.syncSlots(store, upserted, now);
      attributes.hideSlots(removedSlots);
      for (const slot of removedSlots) trails.drop(slot);
      if (trails.enabled && store.size <= trailMaxVehicles) {
        const { lon, lat, ts } = store.columns;
        for (const slot of upserted) trails.record(slot, lon[slot], lat[slot], ts[slot]);
      } else if (trails.size > 0) {
        trails.clear();
      }
    }
    scheduleFlush({ live: true });
    if (performance.now() - state.crowdAt >= CROWD_INTERVAL_MS) updateCrowdSizes();
  });

  /** Recount the vehicles in view and resize the markers (a uniform: no attribute is rewritten). */
  function updateCrowdSizes() {
    state.crowdAt = performance.now();
    const b = map.getBounds();
    const slots = Math.min(store.highWater, attributes.capacity);
    const { positions, shapes } = attributes.arrays ?? {};
    state.inView = slots > 0 ? countInBounds(positions, shapes, slots, [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]) : 0;
    const canvas = map.getCanvas();
    const sizes = crowdSizes(state.zoomSizes, state.inView, canvas.clientWidth * canvas.clientHeight);
    if (sizes.arrowPixels === state.sizes.arrowPixels && sizes.dotPixels === state.sizes.dotPixels) return;
    state.sizes = sizes;
    liveLayers = null;
    scheduleFlush();
  }

  const restyleTimer = setInterval(() => {
    if (attributes.restyle(store, serverNow())) scheduleFlush({ live: true });
  }, RESTYLE_INTERVAL_MS);

  // ------------------------------------------------------------------ deck.gl overlay
  function pickedOf(info) {
    if (!info || !info.layer || info.index < 0) return null;
    const id = info.layer.id;
    if (id === LIVE_LAYER_IDS.vehicles) {
      const vehicleId = store.idAt(info.index);
      if (vehicleId === undefined) return null;
      const c = store.columns;
      return { kind: 'vehicle', id: vehicleId, lon: c.lon[info.index], lat: c.lat[info.index] };
    }
    if (id === 'history-heads' && state.history && state.history.heads) {
      const { heads } = state.history;
      return { kind: 'head', id: heads.ids[info.index], lon: heads.positions[2 * info.index], lat: heads.positions[2 * info.index + 1] };
    }
    if (id === 'history-trips' && info.object) {
      return { kind: 'trip', id: info.object.id, lon: info.coordinate?.[0], lat: info.coordinate?.[1] };
    }
    return null;
  }

  const overlay = new MapboxOverlay({
    interleaved: false,
    layers: [],
    deviceProps: { webgl: { preserveDrawingBuffer: Boolean(config.preserveDrawingBuffer), antialias: Boolean(config.antialias) } },
    onClick: (info) => emit('pick', pickedOf(info)),
    onHover: (info) => emit('hover', pickedOf(info)),
    getCursor: ({ isHovering, isDragging }) => (isDragging ? 'grabbing' : isHovering ? 'pointer' : 'grab'),
    onAfterRender: () => {
      state.redraws += 1;
    },
    onError: (error) => log('warn', 'deck.gl error', { error: String(error && error.message ? error.message : error) }),
  });
  map.addControl(overlay);

  // ------------------------------------------------------------------ view
  function getView() {
    const c = map.getCenter();
    return { lon: c.lng, lat: c.lat, zoom: map.getZoom(), bearing: map.getBearing(), pitch: map.getPitch() };
  }
  function viewChanged() {
    const b = map.getBounds();
    const bounds = relayBbox([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]);
    emit('view', { view: getView(), bounds });
    const aggregated = shouldAggregate(store.size, map.getZoom(), config);
    if (aggregated !== state.aggregated || (aggregated && densityLevel(map.getZoom()) !== state.densityLevel)) {
      scheduleFlush({ live: true });
    }
  }
  map.on('moveend', viewChanged);
  map.on('resize', viewChanged);
  map.on('moveend', updateCrowdSizes);
  map.on('resize', updateCrowdSizes);
  // Marker sizes follow the zoom (in steps, so a zoom animation re-creates layers only a few times).
  map.on('zoom', () => {
    const sizes = sizesForZoom(Math.round(map.getZoom() * 4) / 4);
    if (sizes.arrowPixels !== state.zoomSizes.arrowPixels) {
      state.zoomSizes = sizes;
      updateCrowdSizes();
    }
  });

  const ready = new Promise((resolve) => {
    if (map.loaded()) resolve();
    else map.once('load', resolve);
    // The configured style may never load (offline); the fallback's load resolves it too.
    listeners.basemap.add(() => map.once('idle', resolve));
  });

  const renderer = {
    map,
    overlay,
    ready,
    get deck() {
      return overlay._deck;
    },
    get basemap() {
      return { ...basemap };
    },
    get aggregated() {
      return state.aggregated;
    },
    /** Marker sizes now (pixels; shrunk by `scale` when the view is crowded) and the vehicles counted in view. */
    get markerSizes() {
      return { ...state.sizes, inView: state.inView };
    },
    /** Vehicles the last draw sent to the GPU: those in or near the view (render/in-view-index.js). */
    get drawnVehicles() {
      const layer = overlay._deck?.layerManager?.getLayers({ layerIds: [LIVE_LAYER_IDS.vehicles] })[0];
      return layer?.state?.inView?.count ?? 0;
    },
    /** GPU interpolation between fixes (config.interpolate) is on. */
    get interpolate() {
      return attributes.interpolate;
    },
    /** Turn GPU interpolation between fixes on or off. */
    setInterpolate(on) {
      if (Boolean(on) === attributes.interpolate) return;
      attributes = createVehicleAttributes({ interpolate: Boolean(on) });
      attributes.syncAll(store, serverNow());
      liveData = null;
      scheduleFlush({ live: true });
    },
    onBasemap: on('basemap'),
    onPick: on('pick'),
    onHover: on('hover'),
    onViewChange: on('view'),
    setMode(mode) {
      if (mode !== 'live' && mode !== 'history') return;
      state.mode = mode;
      scheduleFlush({ live: true });
    },
    setSelected(id) {
      state.selected = id ?? null;
      scheduleFlush({ live: true });
    },
    setShowTrails(show) {
      state.showTrails = Boolean(show);
      scheduleFlush({ live: true });
    },
    setHistory(history) {
      state.history = history;
      const visible = state.mode === 'history';
      historyLayers = history ? [tripsLayer(history, visible), ...(history.heads ? [headsLayer(history.heads, visible)] : [])] : [];
      scheduleFlush();
    },
    flyTo({ lon, lat, zoom, bearing }) {
      map.flyTo({ center: [lon, lat], ...(zoom !== undefined ? { zoom } : {}), ...(bearing !== undefined ? { bearing } : {}) });
    },
    easeTo({ lon, lat }) {
      map.easeTo({ center: [lon, lat], duration: 500 });
    },
    fitBounds(bounds, { maxZoom = 15, padding = 60 } = {}) {
      map.fitBounds(bounds, { maxZoom, padding, duration: 600 });
    },
    getView,
    setView({ lon, lat, zoom, bearing = 0, pitch = 0 }) {
      map.jumpTo({ center: [lon, lat], zoom, bearing, pitch });
    },
    pixelOf(lon, lat) {
      const p = map.project([lon, lat]);
      return [p.x, p.y];
    },
    metrics() {
      const deck = overlay._deck;
      return { ...(deck ? deck.metrics : {}), redraws: state.redraws, aggregated: state.aggregated };
    },
    destroy() {
      clearInterval(restyleTimer);
      map.remove();
    },
  };
  attributes.syncAll(store, null);
  scheduleFlush({ live: true });
  return renderer;
}
