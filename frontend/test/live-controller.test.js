// The live controller against a real WebSocket server (the `ws` package) playing ws-relay v2:
// negotiation in the URL, hello, binary and JSON frames into the store, removes, viewport messages
// (debounced, re-sent after a reconnect), heartbeat timeout, and the v1 fallback.
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { createFrameDecoder } from '../src/live/frame-decoder.js';
import { createLiveController, v2Url } from '../src/live/live-controller.js';
import { createServerClock } from '../src/live/server-clock.js';
import { createVehicleStore } from '../src/live/vehicle-store.js';
import { encodeFrame } from './support/protocol-v2.js';

const WAIT = { timeout: 10_000, interval: 20 };
const FAST = { initialMs: 20, factor: 2, maxMs: 200 };
const cleanups = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()();
});

function hello(heartbeatS = 5) {
  return JSON.stringify({ type: 'hello', protocol: 2, format: 'bin', server_time: Date.now(), frame_interval_ms: 100, heartbeat_s: heartbeatS, vehicle_ttl_s: 600 });
}

/** A relay stand-in: calls onConnection(socket, url) and records what clients send. */
async function startRelay(onConnection, port = 0) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port });
  await new Promise((resolve) => wss.once('listening', resolve));
  const relay = { port: wss.address().port, received: [], urls: [], sockets: new Set() };
  wss.on('connection', (socket, request) => {
    relay.sockets.add(socket);
    relay.urls.push(request.url);
    socket.on('close', () => relay.sockets.delete(socket));
    socket.on('message', (data) => relay.received.push(JSON.parse(String(data))));
    onConnection(socket, request.url);
  });
  relay.stop = () =>
    new Promise((resolve) => {
      for (const s of relay.sockets) s.terminate();
      wss.close(() => resolve());
    });
  cleanups.push(relay.stop);
  return relay;
}

function controller(port, extra = {}) {
  const clock = createServerClock();
  const store = createVehicleStore({ clock });
  const frames = [];
  const live = createLiveController({
    url: `ws://127.0.0.1:${port}/`,
    store,
    clock,
    WebSocketImpl: WebSocket,
    createWorker: () => null,
    backoff: FAST,
    onFrame: (f) => frames.push(f),
    ...extra,
  });
  cleanups.push(async () => live.stop());
  return { live, store, clock, frames };
}

const point = (id, lon, extra = {}) => ({ vehicle_id: id, ts: Date.now(), lon, lat: 10, ...extra });

describe('live controller (protocol v2)', () => {
  it('asks for v2 in the URL and keeps other parameters', () => {
    expect(v2Url('ws://relay:8082/?token=abc', 'bin')).toBe('ws://relay:8082/?token=abc&v=2&format=bin');
    expect(v2Url('ws://relay:8082', 'json')).toBe('ws://relay:8082/?v=2&format=json');
  });

  it('takes the hello, binary snapshots and updates, and removes', async () => {
    const relay = await startRelay((socket) => {
      socket.send(hello());
      socket.send(encodeFrame('snapshot', [point('bus-1', 1, { source: 'mqtt', battery: 50 }), point('bus-2', 2)], Date.now()));
    });
    const { live, store, frames } = controller(relay.port);
    live.start();
    await vi.waitFor(() => expect(store.size).toBe(2), WAIT);
    expect(relay.urls[0]).toBe('/?v=2&format=bin');
    expect(live.protocol).toBe(2);
    expect(store.get('bus-1')).toMatchObject({ lon: 1, source: 'mqtt', battery: 50 });
    expect(store.ageMs('bus-1')).toBeLessThan(5000);
    for (const s of relay.sockets) {
      s.send(encodeFrame('update', [point('bus-2', 2.5)], Date.now()));
      s.send(encodeFrame('remove', [{ vehicle_id: 'bus-1' }], Date.now()));
    }
    await vi.waitFor(() => expect(store.size).toBe(1), WAIT);
    expect(store.get('bus-2').lon).toBe(2.5);
    expect(frames.map((f) => f.kind)).toEqual(['hello', 'snapshot', 'update', 'remove']);
    expect(live.stats.applyMs.count).toBe(3);
  });

  it('reads JSON frames when asked for format=json', async () => {
    const relay = await startRelay((socket) => {
      socket.send(hello().replace('"bin"', '"json"'));
      socket.send(JSON.stringify({ type: 'snapshot', server_time: Date.now(), vehicles: [point('tram-1', 8, { alt: 400 })] }));
      socket.send(JSON.stringify({ type: 'remove', server_time: Date.now(), ids: ['nobody'] }));
    });
    const { live, store } = controller(relay.port, { format: 'json' });
    live.start();
    await vi.waitFor(() => expect(store.get('tram-1')).toMatchObject({ alt: 400 }), WAIT);
    expect(relay.urls[0]).toBe('/?v=2&format=json');
  });

  it('sends the viewport once per burst of moves, and again after a reconnect', async () => {
    let connections = 0;
    const relay = await startRelay((socket) => {
      connections += 1;
      socket.send(hello());
      if (connections === 1) setTimeout(() => socket.terminate(), 400);
    });
    const { live } = controller(relay.port);
    live.start();
    await vi.waitFor(() => expect(live.status).toBe('open'), WAIT);
    live.setViewport([0, 0, 1, 1], 5);
    live.setViewport([0, 0, 2, 2], 6);
    live.setViewport([170, -10, -170, 10], 7.123);
    await vi.waitFor(() => expect(relay.received).toHaveLength(1), WAIT);
    expect(relay.received[0]).toEqual({ type: 'viewport', bbox: [170, -10, -170, 10], zoom: 7.12 });
    await vi.waitFor(() => expect(relay.received).toHaveLength(2), WAIT);
    expect(relay.received[1]).toEqual(relay.received[0]);
    expect(live.stats.opens).toBe(2);
  });

  it('drops a connection whose heartbeats stop (3 x heartbeat_s) and forgets the old vehicles on the new hello', async () => {
    let connections = 0;
    const relay = await startRelay((socket) => {
      connections += 1;
      socket.send(hello(0.1));
      socket.send(encodeFrame('update', [point(connections === 1 ? 'old' : 'new', 1)], Date.now()));
      // Then silence: no heartbeat, as over a half-open connection.
    });
    const { live, store } = controller(relay.port);
    live.start();
    await vi.waitFor(() => expect(store.get('old')).not.toBeNull(), WAIT);
    await vi.waitFor(() => expect(store.get('new')).not.toBeNull(), WAIT);
    expect(store.get('old')).toBeNull();
    expect(live.stats.lastCloseReason).toBe('heartbeat timeout');
  });

  it('speaks v1 to a relay that never says hello (a snapshot replaces the set)', async () => {
    const relay = await startRelay((socket) => {
      socket.send(JSON.stringify({ type: 'snapshot', vehicles: [point('a', 1), point('b', 2)] }));
      setTimeout(() => socket.send(JSON.stringify({ type: 'snapshot', vehicles: [point('b', 3)] })), 100);
    });
    const { live, store } = controller(relay.port);
    live.start();
    await vi.waitFor(() => expect([...store.ids()]).toEqual(['b']), WAIT);
    expect(live.protocol).toBe(1);
    expect(store.get('b').lon).toBe(3);
  });

  it('counts garbage and relay errors without breaking the feed', async () => {
    const relay = await startRelay((socket) => {
      socket.send(hello());
      socket.send('not json');
      socket.send(Buffer.from('GSF1 but short'));
      socket.send('{"type":"error","error":"bad viewport"}');
      socket.send(encodeFrame('update', [point('ok', 1)], Date.now()));
    });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    cleanups.push(async () => warn.mockRestore());
    const { live, store } = controller(relay.port);
    live.start();
    await vi.waitFor(() => expect(store.get('ok')).not.toBeNull(), WAIT);
    expect(live.stats.garbage).toBe(2);
    expect(live.stats.errors).toBe(1);
    expect(live.stats.lastError).toBe('bad viewport');
  });
});

describe('frame decoder', () => {
  it('releases results in arrival order even when the worker answers out of order', () => {
    const posted = [];
    const fakeWorker = {
      postMessage: (m) => posted.push(m),
      terminate: () => {},
    };
    const results = [];
    const decoder = createFrameDecoder({ onResult: (r) => results.push(r.kind), createWorker: () => fakeWorker });
    decoder.push({ type: 'frame', data: encodeFrame('update', []) });
    decoder.push({ type: 'frame', data: '{"type":"heartbeat","server_time":1}' });
    expect(posted[0].options).toBeDefined();
    expect(decoder.pending).toBe(2);
    fakeWorker.onmessage({ data: { seq: 1, result: { kind: 'heartbeat' } } });
    expect(results).toEqual([]);
    fakeWorker.onmessage({ data: { seq: 0, result: { kind: 'data' } } });
    expect(results).toEqual(['data', 'heartbeat']);
    expect(decoder.pending).toBe(0);
    expect(decoder.inWorker).toBe(true);
  });

  it('processes inline where no worker can be created', () => {
    const results = [];
    const decoder = createFrameDecoder({ onResult: (r) => results.push(r.kind), createWorker: () => null });
    decoder.push({ type: 'frame', data: '{"type":"heartbeat","server_time":1}' });
    decoder.push({ type: 'frame', data: new Uint8Array([1, 2, 3]) });
    expect(results).toEqual(['heartbeat', 'garbage']);
    expect(decoder.inWorker).toBe(false);
  });
});

describe('live controller: apply timings', () => {
  it('keeps the duration of each applied frame for benchmarks (recentApplyMs)', () => {
    const clock = createServerClock();
    const store = createVehicleStore({ clock });
    let t = 0;
    // Each store change "takes" 3 ms on the injected clock.
    store.subscribe(() => {
      t += 3;
    });
    const live = createLiveController({ url: 'ws://127.0.0.1:9/', store, clock, createWorker: () => null, now: () => t });
    live.injectFrame(hello());
    for (let i = 0; i < 5; i += 1) {
      live.injectFrame(encodeFrame('update', [{ vehicle_id: `v${i}`, ts: 1_000_000 + i, lon: 2, lat: 48 }], 1_000_000));
    }
    expect(live.stats.applyMs.count).toBe(5);
    expect([...live.recentApplyMs(3)]).toEqual([3, 3, 3]);
    expect(live.recentApplyMs(100)).toHaveLength(5);
    live.stop();
  });
});
