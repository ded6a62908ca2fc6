// Which basemap to draw (pure): the `basemap` setting turned into a MapLibre style, the offline
// style built from the bundled world-atlas countries, and the watchdog that decides when the
// configured basemap has failed and the offline one takes over.

export const DEFAULT_BASEMAP = 'https://tiles.openfreemap.org/styles/liberty';
export const OFFLINE = 'offline';
export const DEFAULT_TIMEOUT_S = 8;
export const OFFLINE_COLORS = Object.freeze({ water: '#0e1a26', land: '#1d3040', border: '#3a5870' });
const OFFLINE_ATTRIBUTION = 'Countries: Natural Earth (world-atlas)';
const OSM_ATTRIBUTION = '© OpenStreetMap contributors';

/**
 * Classify the `basemap` setting:
 *   {kind: 'offline'} | {kind: 'xyz', url} | {kind: 'pmtiles', url} (url without the pmtiles:// prefix)
 *   | {kind: 'style', url}
 */
export function parseBasemapSetting(value) {
  const text = typeof value === 'string' ? value.trim() : '';
  if (text === '') return { kind: 'style', url: DEFAULT_BASEMAP };
  if (text.toLowerCase() === OFFLINE) return { kind: 'offline' };
  if (text.startsWith('pmtiles://')) return { kind: 'pmtiles', url: text.slice('pmtiles://'.length) };
  const path = text.split(/[?#]/)[0];
  if (path.toLowerCase().endsWith('.pmtiles')) return { kind: 'pmtiles', url: text };
  if (text.includes('{z}') && text.includes('{x}') && text.includes('{y}')) return { kind: 'xyz', url: text };
  return { kind: 'style', url: text };
}

/** MapLibre style for an XYZ raster template. */
export function xyzStyle(url, attribution = '') {
  const subdomains = url.match(/\{([a-z](?:,[a-z])+)\}/);
  const tiles = subdomains ? subdomains[1].split(',').map((s) => url.replace(subdomains[0], s)) : [url];
  return {
    version: 8,
    sources: {
      basemap: { type: 'raster', tiles, tileSize: 256, maxzoom: 19, attribution: attribution || OSM_ATTRIBUTION },
    },
    layers: [{ id: 'basemap', type: 'raster', source: 'basemap' }],
  };
}

/** MapLibre style for a raster PMTiles archive. */
export function rasterPmtilesStyle(url, attribution = '') {
  return {
    version: 8,
    sources: { basemap: { type: 'raster', url: `pmtiles://${url}`, tileSize: 256, attribution } },
    layers: [{ id: 'basemap', type: 'raster', source: 'basemap' }],
  };
}

/**
 * MapLibre style for a vector PMTiles archive in the Protomaps schema, given the layers of a
 * flavour; label layers need glyphs, so they are kept only when a glyphs URL is configured.
 */
export function vectorPmtilesStyle(url, layers, { attribution = '', glyphs = '' } = {}) {
  const style = {
    version: 8,
    sources: { protomaps: { type: 'vector', url: `pmtiles://${url}`, attribution: attribution || OSM_ATTRIBUTION } },
    layers: glyphs ? layers : layers.filter((layer) => layer.type !== 'symbol'),
  };
  if (glyphs) style.glyphs = glyphs;
  return style;
}

/**
 * The ring with each longitude moved by a multiple of 360 to be within 180 degrees of the previous
 * one, so a polygon crossing the antimeridian continues past 180 instead of spanning the globe
 * (MapLibre draws coordinates beyond ±180 in the neighbouring world copy). Rings that go round a
 * pole (Antarctica: they do not close once unwrapped) are returned unchanged.
 */
export function unwrapRing(ring) {
  if (ring.length < 2) return ring;
  const out = [ring[0]];
  let shifted = false;
  for (let i = 1; i < ring.length; i += 1) {
    const [lon, lat] = ring[i];
    const prev = out[i - 1][0];
    let x = lon;
    while (x - prev > 180) x -= 360;
    while (x - prev < -180) x += 360;
    if (x !== lon) shifted = true;
    out.push([x, lat]);
  }
  if (!shifted) return ring;
  const closes = Math.abs(out[out.length - 1][0] - out[0][0]) < 1e-9;
  return closes ? out : ring;
}

function unwrapGeometry(geometry) {
  if (!geometry) return geometry;
  if (geometry.type === 'Polygon') return { ...geometry, coordinates: geometry.coordinates.map(unwrapRing) };
  if (geometry.type === 'MultiPolygon') {
    return { ...geometry, coordinates: geometry.coordinates.map((polygon) => polygon.map(unwrapRing)) };
  }
  return geometry;
}

/** The offline world style: water background, countries filled and outlined (GeoJSON source). */
export function offlineStyle(countries) {
  const data = countries
    ? { ...countries, features: countries.features.map((f) => ({ ...f, geometry: unwrapGeometry(f.geometry) })) }
    : { type: 'FeatureCollection', features: [] };
  return {
    version: 8,
    sources: { countries: { type: 'geojson', data, attribution: OFFLINE_ATTRIBUTION } },
    layers: [
      { id: 'water', type: 'background', paint: { 'background-color': OFFLINE_COLORS.water } },
      { id: 'land', type: 'fill', source: 'countries', paint: { 'fill-color': OFFLINE_COLORS.land } },
      { id: 'borders', type: 'line', source: 'countries', paint: { 'line-color': OFFLINE_COLORS.border, 'line-width': 0.7 } },
    ],
  };
}

/**
 * Decides when the configured basemap has failed. Feed it the map's events; it answers with
 * 'fallback' once: on a style error before the style loaded, when tiles keep failing and none has
 * loaded, or when nothing usable arrived within the timeout.
 */
export function createBasemapWatchdog({ maxTileErrors = 3 } = {}) {
  let styleLoaded = false;
  let tilesLoaded = 0;
  let tileErrors = 0;
  let decided = null;

  function decide(reason) {
    if (decided) return null;
    decided = reason;
    return { action: 'fallback', reason };
  }

  return {
    styleLoaded() {
      styleLoaded = true;
      return null;
    },
    tileLoaded() {
      tilesLoaded += 1;
      return null;
    },
    /** An error event; `isTile` when it came from a tile or source request. */
    error(message, { isTile = false } = {}) {
      if (!styleLoaded && !isTile) return decide(`style failed: ${message}`);
      if (isTile) {
        tileErrors += 1;
        if (tilesLoaded === 0 && tileErrors >= maxTileErrors) return decide(`tiles failed: ${message}`);
      }
      return null;
    },
    timeout() {
      if (!styleLoaded) return decide('style did not load in time');
      if (tilesLoaded === 0) return decide('no tile loaded in time');
      return null;
    },
    get decided() {
      return decided;
    },
  };
}
