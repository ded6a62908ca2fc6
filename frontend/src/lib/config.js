// Run-time configuration: config.json (written by the container at start) and URL query
// parameters override the defaults derived from the page's own address, so one build
// serves every deployment.

export const DEFAULT_WS_PORT = 8082;
export const DEFAULT_API_PORT = 8083;

// [default, min, max] for the numeric settings.
const NUMERIC = {
  liveWindowSeconds: [600, 0, 31 * 24 * 3600],
  trailPoints: [20, 0, 500],
  trailSeconds: [120, 0, 24 * 3600],
  // Above this many live vehicles trails are not drawn (they dominate software rendering).
  trailMaxVehicles: [2000, 0, 1000000],
  maxVehicles: [100000, 1, 1000000],
  historyPageSize: [500, 1, 10000],
  historyMaxTrips: [5000, 1, 100000],
  // Per-vehicle styling by age on the relay's clock: faded after staleSeconds, grey after
  // offlineSeconds; a vehicle is dropped after liveWindowSeconds.
  staleSeconds: [60, 1, 31 * 24 * 3600],
  offlineSeconds: [300, 1, 31 * 24 * 3600],
  basemapTimeoutSeconds: [8, 1, 120],
  // Icons give way to a density grid above this many vehicles, below this zoom.
  aggregateAbove: [20000, 0, 10000000],
  aggregateBelowZoom: [12, 0, 24],
};

// Strings handed to the renderer as they are, set only when given (the renderer has the defaults):
// `basemap` is a MapLibre style URL, an XYZ raster template ({z}/{x}/{y}), a pmtiles:// URL or
// "offline"; `wsToken` goes to the relay as the subprotocol bearer.<token>.
const STRING = ['basemap', 'basemapAttribution', 'wsToken'];
const MAX_STRING_LENGTH = 2048;
const LIVE_FORMATS = ['bin', 'json'];

const BOOLEAN = {
  preserveDrawingBuffer: false,
  antialias: false,
  // GPU interpolation between fixes (the renderer reads config.interpolate).
  interpolate: false,
};

function isSecure(location) {
  return location.protocol === 'https:';
}

function pageHost(location) {
  // URL.hostname keeps the brackets of an IPv6 literal, which is what a URL needs.
  return location.hostname || 'localhost';
}

export function defaultEndpoints(location) {
  const host = pageHost(location);
  const secure = isSecure(location);
  return {
    wsUrl: `${secure ? 'wss' : 'ws'}://${host}:${DEFAULT_WS_PORT}`,
    apiUrl: `${secure ? 'https' : 'http'}://${host}:${DEFAULT_API_PORT}`,
  };
}

/** Absolute ws(s):// URL from an absolute ws/http URL or a path relative to the page. */
export function normalizeWsUrl(value, location) {
  if (typeof value !== 'string' || value.trim() === '') return null;
  let url;
  try {
    url = new URL(value.trim(), location.href);
  } catch {
    return null;
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') return null;
  url.hash = '';
  return url.toString();
}

/** Absolute http(s):// base URL without a trailing slash. */
export function normalizeApiUrl(value, location) {
  if (typeof value !== 'string' || value.trim() === '') return null;
  let url;
  try {
    url = new URL(value.trim(), location.href);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  url.hash = '';
  url.search = '';
  return url.toString().replace(/\/+$/, '');
}

function parseBoolean(value) {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
  }
  return undefined;
}

function parseNumber(value) {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '') return Number(value);
  return Number.NaN;
}

/**
 * Merge defaults < config.json < query parameters.
 * fileConfig: parsed config.json object (or null when absent/invalid).
 * query: URLSearchParams of the page.
 * Returns the config plus `warnings` for every ignored value.
 */
export function resolveConfig({ fileConfig, query, location }) {
  const warnings = [];
  const defaults = defaultEndpoints(location);
  const sources = [];
  if (fileConfig && typeof fileConfig === 'object' && !Array.isArray(fileConfig)) {
    sources.push(['config.json', fileConfig]);
  } else if (fileConfig != null) {
    warnings.push('config.json is not a JSON object: ignored');
  }
  if (query) {
    const fromQuery = {};
    for (const key of ['wsUrl', 'apiUrl', ...Object.keys(NUMERIC), ...Object.keys(BOOLEAN), ...STRING, 'liveFormat']) {
      if (query.has(key)) fromQuery[key] = query.get(key);
    }
    sources.push(['query', fromQuery]);
  }

  const config = { ...defaults };
  for (const key of Object.keys(NUMERIC)) config[key] = NUMERIC[key][0];
  Object.assign(config, BOOLEAN);
  config.liveFormat = 'bin';

  for (const [origin, src] of sources) {
    if (src.wsUrl !== undefined && src.wsUrl !== null && src.wsUrl !== '') {
      const ws = normalizeWsUrl(src.wsUrl, location);
      if (ws) config.wsUrl = ws;
      else warnings.push(`${origin}: invalid wsUrl ${JSON.stringify(src.wsUrl)}`);
    }
    if (src.apiUrl !== undefined && src.apiUrl !== null && src.apiUrl !== '') {
      const api = normalizeApiUrl(src.apiUrl, location);
      if (api) config.apiUrl = api;
      else warnings.push(`${origin}: invalid apiUrl ${JSON.stringify(src.apiUrl)}`);
    }
    for (const [key, [, min, max]] of Object.entries(NUMERIC)) {
      if (src[key] === undefined || src[key] === null || src[key] === '') continue;
      const n = parseNumber(src[key]);
      if (Number.isFinite(n) && n >= min && n <= max) config[key] = n;
      else warnings.push(`${origin}: ${key} must be a number in [${min}, ${max}]`);
    }
    for (const key of Object.keys(BOOLEAN)) {
      if (src[key] === undefined || src[key] === null || src[key] === '') continue;
      const b = parseBoolean(src[key]);
      if (b !== undefined) config[key] = b;
      else warnings.push(`${origin}: ${key} must be a boolean`);
    }
    for (const key of STRING) {
      if (src[key] === undefined || src[key] === null || src[key] === '') continue;
      if (typeof src[key] === 'string' && src[key].trim().length <= MAX_STRING_LENGTH) config[key] = src[key].trim();
      else warnings.push(`${origin}: ${key} must be a string of at most ${MAX_STRING_LENGTH} characters`);
    }
    if (src.liveFormat !== undefined && src.liveFormat !== null && src.liveFormat !== '') {
      if (LIVE_FORMATS.includes(src.liveFormat)) config.liveFormat = src.liveFormat;
      else warnings.push(`${origin}: liveFormat must be one of ${LIVE_FORMATS.join(', ')}`);
    }
  }
  if (config.offlineSeconds < config.staleSeconds) {
    warnings.push('offlineSeconds is below staleSeconds: raised to it');
    config.offlineSeconds = config.staleSeconds;
  }
  config.trailPoints = Math.floor(config.trailPoints);
  config.trailMaxVehicles = Math.floor(config.trailMaxVehicles);
  config.maxVehicles = Math.floor(config.maxVehicles);
  config.historyPageSize = Math.floor(config.historyPageSize);
  config.historyMaxTrips = Math.floor(config.historyMaxTrips);
  config.warnings = warnings;
  return config;
}

/**
 * Fetch config.json next to the page. A missing or unparsable file yields null (defaults apply);
 * the reason is returned so the page can log it.
 */
export async function fetchConfigFile(fetchFn, baseUrl) {
  const url = new URL('config.json', baseUrl).toString();
  let response;
  try {
    response = await fetchFn(url, { cache: 'no-store', headers: { Accept: 'application/json' } });
  } catch (err) {
    return { fileConfig: null, note: `config.json not reachable (${err.message || err})` };
  }
  if (!response.ok) return { fileConfig: null, note: `config.json: HTTP ${response.status}` };
  const text = await response.text();
  try {
    return { fileConfig: JSON.parse(text), note: null };
  } catch {
    return { fileConfig: null, note: 'config.json is not valid JSON: ignored' };
  }
}
