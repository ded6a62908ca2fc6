// The live feed: one WebSocket to ws-relay speaking protocol v2 (binary or JSON frames), processed
// in order in the frame worker (decoding, id -> slot), applied to the vehicle store; heartbeat
// timeout, reconnect with full jitter, and the viewport messages that tell the relay which tiles to
// send. A relay that never says hello is spoken to in protocol v1 (a snapshot replaces the set).

import { LiveConnection } from '../lib/ws-client.js';
import { createFrameDecoder, defaultCreateWorker } from './frame-decoder.js';

export const VIEWPORT_DEBOUNCE_MS = 250;
const PRUNE_INTERVAL_MS = 1000;
// Before the hello says otherwise: the protocol's default heartbeat is 5 s.
const DEFAULT_HEARTBEAT_S = 5;
// The last apply durations kept for benchmarks (live.recentApplyMs).
const APPLY_SAMPLES = 4096;

/** The relay URL with `v=2&format=...` added (other query parameters, e.g. token, kept). */
export function v2Url(url, format) {
  try {
    const u = new URL(url);
    u.searchParams.set('v', '2');
    u.searchParams.set('format', format);
    return u.toString();
  } catch {
    return url;
  }
}

function sameViewport(a, b) {
  if (!a || !b) return a === b;
  if (a.zoom !== b.zoom) return false;
  if (a.bbox === null || b.bbox === null) return a.bbox === b.bbox;
  return a.bbox.every((x, i) => x === b.bbox[i]);
}

function roundBbox(bbox) {
  if (!bbox) return null;
  return bbox.map((x) => Math.round(x * 1e5) / 1e5);
}

export function createLiveController({
  url,
  token = '',
  format = 'bin',
  store,
  clock,
  maxVehicles = 100000,
  liveWindowSeconds = 600,
  onStatus = () => {},
  onFrame = () => {},
  WebSocketImpl = globalThis.WebSocket,
  createWorker = defaultCreateWorker,
  timers = globalThis,
  backoff,
  random,
  now = () => performance.now(),
}) {
  const stats = {
    frames: 0,
    snapshots: 0,
    updates: 0,
    removes: 0,
    expired: 0,
    heartbeats: 0,
    garbage: 0,
    errors: 0,
    invalidPoints: 0,
    outOfOrderPoints: 0,
    droppedVehicles: 0,
    lastError: null,
    lastGarbage: null,
    applyMs: { last: 0, mean: 0, max: 0, count: 0 },
  };
  let protocol = null;
  let wantedViewport = null;
  let sentViewport = null;
  let viewportTimer = null;
  let pruneTimer = null;
  const applySamples = new Float64Array(APPLY_SAMPLES);

  function recordApply(ms) {
    const a = stats.applyMs;
    applySamples[a.count % APPLY_SAMPLES] = ms;
    a.count += 1;
    a.last = ms;
    a.mean += (ms - a.mean) / a.count;
    a.max = Math.max(a.max, ms);
  }

  // A big frame arrives from the worker in parts: its time and row count are summed over them.
  const partial = { ms: 0, count: 0 };

  function applyResult(result) {
    if (result.kind === 'disconnected') return;
    if (result.kind === 'remove' && result.expired) {
      stats.expired += result.removedIds.length;
      store.applyRemove(result);
      return;
    }
    const firstPart = !(result.part > 0);
    const lastPart = !(result.part < result.parts - 1);
    if (firstPart) stats.frames += 1;
    if (result.serverTime !== undefined && result.serverTime !== null) clock.observe(result.serverTime);
    const started = now();
    let kind = result.kind;
    let count = 0;
    switch (result.kind) {
      case 'hello':
        protocol = 2;
        connection.setIdleTimeout(3 * (result.heartbeatS ?? DEFAULT_HEARTBEAT_S) * 1000);
        // A later connection: the processor started a fresh slot table; what left the region
        // during the outage was never removed.
        if (result.reset) store.clear();
        break;
      case 'heartbeat':
        stats.heartbeats += 1;
        break;
      case 'data':
        kind = result.frameKind;
        if (protocol === null) {
          protocol = result.protocol;
          if (protocol === 1) connection.setIdleTimeout(null);
        }
        if (firstPart) stats[kind === 'snapshot' ? 'snapshots' : 'updates'] += 1;
        stats.invalidPoints += result.invalid;
        stats.outOfOrderPoints += result.outOfOrder;
        stats.droppedVehicles += result.dropped;
        store.applyData(result);
        partial.ms += now() - started + (result.receiveMs ?? 0);
        partial.count += result.count;
        if (!lastPart) return;
        count = partial.count;
        recordApply(partial.ms);
        partial.ms = 0;
        partial.count = 0;
        break;
      case 'remove':
        stats.removes += 1;
        store.applyRemove(result);
        count = result.removedIds.length;
        recordApply(now() - started + (result.receiveMs ?? 0));
        break;
      case 'error':
        stats.errors += 1;
        stats.lastError = result.error;
        console.warn(JSON.stringify({ level: 'warn', msg: 'ws-relay reported an error', error: result.error }));
        break;
      default:
        stats.garbage += 1;
        stats.lastGarbage = result.reason;
        if (stats.garbage <= 20) {
          console.warn(JSON.stringify({ level: 'warn', msg: 'ignored garbage frame', reason: result.reason }));
        }
    }
    onFrame({ kind, count, serverTime: result.serverTime ?? null });
  }

  if (typeof store.reserve === 'function') store.reserve(maxVehicles);
  const decoder = createFrameDecoder({ onResult: applyResult, options: { maxVehicles, liveWindowSeconds }, createWorker });

  function sendViewport() {
    if (!wantedViewport || sameViewport(wantedViewport, sentViewport)) return;
    const message = { type: 'viewport', bbox: wantedViewport.bbox };
    if (Number.isFinite(wantedViewport.zoom)) message.zoom = wantedViewport.zoom;
    if (connection.send(message)) sentViewport = wantedViewport;
  }

  const connection = new LiveConnection({
    url: v2Url(url, format),
    protocols: token ? [`bearer.${token}`] : undefined,
    idleTimeoutMs: 3 * DEFAULT_HEARTBEAT_S * 1000,
    WebSocketImpl,
    timers,
    backoff,
    random,
    onMessage: (data) => decoder.push({ type: 'frame', data }),
    onStatus: (status) => {
      if (status === 'closed') {
        decoder.push({ type: 'disconnected' });
        protocol = null;
        sentViewport = null;
      }
      onStatus(status, live.stats);
    },
    onOpen: () => sendViewport(),
  });

  const live = {
    start() {
      connection.start();
      if (pruneTimer === null) pruneTimer = timers.setInterval(() => decoder.push({ type: 'prune' }), PRUNE_INTERVAL_MS);
    },
    stop() {
      connection.stop();
      if (pruneTimer !== null) timers.clearInterval(pruneTimer);
      pruneTimer = null;
      if (viewportTimer !== null) timers.clearTimeout(viewportTimer);
      viewportTimer = null;
      decoder.close();
    },
    reconnectNow() {
      connection.reconnectNow();
    },
    /** The region to receive: bbox [w, s, e, n] (w > e across the antimeridian) or null for all. */
    setViewport(bbox, zoom) {
      wantedViewport = { bbox: roundBbox(bbox), zoom: Number.isFinite(zoom) ? Math.round(zoom * 100) / 100 : undefined };
      if (viewportTimer !== null) timers.clearTimeout(viewportTimer);
      viewportTimer = timers.setTimeout(() => {
        viewportTimer = null;
        sendViewport();
      }, VIEWPORT_DEBOUNCE_MS);
    },
    /** Send the renderer's view to the relay on every move and resize. */
    followRenderer(renderer) {
      return renderer.onViewChange(({ bounds, view }) => live.setViewport(bounds, view.zoom));
    },
    /** The durations (ms) of the last `n` applied data/remove frames (at most 4096), oldest first. */
    recentApplyMs(n) {
      const count = stats.applyMs.count;
      const k = Math.max(0, Math.min(n, count, APPLY_SAMPLES));
      const out = new Float64Array(k);
      for (let i = 0; i < k; i += 1) out[i] = applySamples[(count - k + i) % APPLY_SAMPLES];
      return out;
    },
    /** Feed one raw frame (string or ArrayBuffer) as if it came from the relay. */
    injectFrame(data) {
      decoder.push({ type: 'frame', data });
    },
    get status() {
      return connection.status;
    },
    get protocol() {
      return protocol;
    },
    get stats() {
      const c = connection.stats;
      return {
        ...stats,
        opens: c.opens,
        retries: c.retries,
        lastCloseCode: c.lastCloseCode,
        lastCloseReason: c.lastCloseReason,
        nextRetryAt: connection.nextRetryAt,
        pendingFrames: decoder.pending,
        decodesInWorker: decoder.inWorker,
      };
    },
    connection,
  };
  return live;
}
