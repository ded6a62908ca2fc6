// LiveConnection against a real WebSocket server (the `ws` package) on a free local port:
// reconnect after a server restart, retries while nothing listens, garbage frames, idle timeout, stop().
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { parseFrame } from '../src/lib/frames.js';
import { LiveConnection } from '../src/lib/ws-client.js';

const FAST = { initialMs: 20, factor: 2, maxMs: 200 };
const WAIT = { timeout: 10_000, interval: 20 };

function point(id, lon) {
  return { vehicle_id: id, ts: Date.now(), lon, lat: 10 };
}

/** A relay stand-in: sends a snapshot on connect and records what clients send. */
async function startRelay(port = 0, vehicles = [point('bus-1', 1)]) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port });
  await new Promise((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const relay = { wss, port: wss.address().port, received: [], sockets: new Set() };
  wss.on('connection', (socket) => {
    relay.sockets.add(socket);
    socket.on('close', () => relay.sockets.delete(socket));
    socket.on('message', (data) => relay.received.push(JSON.parse(String(data))));
    socket.send(JSON.stringify({ type: 'snapshot', vehicles }));
  });
  relay.broadcast = (data) => {
    for (const s of relay.sockets) s.send(data);
  };
  relay.stop = () =>
    new Promise((resolve) => {
      for (const s of relay.sockets) s.terminate();
      wss.close(() => resolve());
    });
  return relay;
}

async function freePort() {
  const srv = net.createServer();
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

function client(port, extra = {}) {
  // A minimal v1 consumer: a snapshot replaces the set, an update upserts.
  const live = { vehicles: new Map(), counters: { garbage: 0, invalidPoints: 0 } };
  const onMessage = (data) => {
    const frame = parseFrame(data);
    if (frame.kind === 'garbage') live.counters.garbage += 1;
    if (frame.kind !== 'snapshot' && frame.kind !== 'update') return;
    if (frame.kind === 'snapshot') live.vehicles.clear();
    live.counters.invalidPoints += frame.invalid;
    frame.columns.ids.forEach((id, i) => live.vehicles.set(id, { lon: frame.columns.lon[i] }));
  };
  const statuses = [];
  const conn = new LiveConnection({
    url: `ws://127.0.0.1:${port}`,
    WebSocketImpl: WebSocket,
    backoff: FAST,
    onStatus: (s) => statuses.push(s),
    onMessage,
    ...extra,
  });
  return { conn, live, statuses };
}

const cleanups = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()();
});

describe('LiveConnection', () => {
  it('connects, receives the snapshot and sends viewport messages', async () => {
    const relay = await startRelay();
    cleanups.push(relay.stop);
    const { conn, live, statuses } = client(relay.port);
    cleanups.push(async () => conn.stop());
    conn.start();
    await vi.waitFor(() => expect(live.vehicles.has('bus-1')).toBe(true), WAIT);
    expect(conn.status).toBe('open');
    expect(statuses.slice(0, 2)).toEqual(['connecting', 'open']);
    expect(conn.send({ type: 'viewport', bbox: [0, 0, 1, 1] })).toBe(true);
    await vi.waitFor(() => expect(relay.received).toEqual([{ type: 'viewport', bbox: [0, 0, 1, 1] }]), WAIT);
  });

  it('reconnects after the relay restarts and takes the new snapshot', async () => {
    let relay = await startRelay(0, [point('bus-1', 1), point('bus-2', 2)]);
    const { port } = relay;
    const { conn, live, statuses } = client(port);
    cleanups.push(async () => conn.stop());
    conn.start();
    await vi.waitFor(() => expect(live.vehicles.size).toBe(2), WAIT);

    await relay.stop();
    await vi.waitFor(() => expect(conn.status).not.toBe('open'), WAIT);
    expect(statuses).toContain('closed');
    expect(conn.send({ type: 'viewport', bbox: null })).toBe(false);

    relay = await startRelay(port, [point('bus-2', 2.5), point('bus-3', 3)]);
    cleanups.push(relay.stop);
    await vi.waitFor(() => expect([...live.vehicles.keys()].sort()).toEqual(['bus-2', 'bus-3']), WAIT);
    expect(conn.status).toBe('open');
    expect(conn.stats.opens).toBeGreaterThanOrEqual(2);
    // The first frame of the new connection resets the backoff.
    expect(conn.attempt).toBe(0);
  });

  it('keeps retrying while nothing listens, then connects', async () => {
    const port = await freePort();
    const { conn, live } = client(port);
    cleanups.push(async () => conn.stop());
    conn.start();
    await vi.waitFor(() => expect(conn.attempt).toBeGreaterThanOrEqual(3), WAIT);
    expect(conn.status).not.toBe('open');
    const relay = await startRelay(port);
    cleanups.push(relay.stop);
    await vi.waitFor(() => expect(live.vehicles.has('bus-1')).toBe(true), WAIT);
    expect(conn.attempt).toBe(0);
  });

  it('ignores and counts garbage frames and keeps applying good ones', async () => {
    const relay = await startRelay();
    cleanups.push(relay.stop);
    const { conn, live } = client(relay.port);
    cleanups.push(async () => conn.stop());
    conn.start();
    await vi.waitFor(() => expect(live.vehicles.size).toBe(1), WAIT);
    relay.broadcast('this is not json');
    relay.broadcast(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    relay.broadcast('{"type":"update","vehicles":[{"vehicle_id":"bus-1","ts":"soon"}]}');
    relay.broadcast(JSON.stringify({ type: 'update', vehicles: [point('bus-1', 7)] }));
    await vi.waitFor(() => expect(live.vehicles.get('bus-1').lon).toBe(7), WAIT);
    expect(live.counters.garbage).toBe(2);
    expect(live.counters.invalidPoints).toBe(1);
    expect(conn.status).toBe('open');
  });

  it('retries when the handshake never completes', async () => {
    // Accepts TCP connections but never answers the HTTP upgrade.
    const sockets = new Set();
    const silent = net.createServer((s) => sockets.add(s));
    await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise((resolve) => {
          for (const s of sockets) s.destroy();
          silent.close(resolve);
        }),
    );
    const { conn } = client(silent.address().port, { connectTimeoutMs: 100 });
    cleanups.push(async () => conn.stop());
    conn.start();
    await vi.waitFor(() => expect(conn.stats.closes).toBeGreaterThanOrEqual(2), WAIT);
    expect(conn.stats.lastCloseReason).toBe('connect timeout');
  });

  it('retries on a malformed URL instead of throwing', async () => {
    const { conn } = client(1, { url: 'not a url' });
    cleanups.push(async () => conn.stop());
    conn.start();
    await vi.waitFor(() => expect(conn.attempt).toBeGreaterThanOrEqual(2), WAIT);
    expect(conn.status).not.toBe('open');
  });

  it('drops a silent (half-open) connection after the idle timeout and reconnects', async () => {
    const relay = await startRelay();
    cleanups.push(relay.stop);
    const { conn, live } = client(relay.port, { idleTimeoutMs: 150 });
    cleanups.push(async () => conn.stop());
    conn.start();
    await vi.waitFor(() => expect(live.vehicles.size).toBe(1), WAIT);
    // The relay sends nothing after its snapshot: no heartbeat, as over a dead path.
    await vi.waitFor(() => expect(conn.stats.lastCloseReason).toBe('heartbeat timeout'), WAIT);
    expect(conn.stats.lastCloseCode).toBe(4001);
    await vi.waitFor(() => expect(conn.stats.opens).toBeGreaterThanOrEqual(2), WAIT);
  });

  it('keeps a connection that gets heartbeats', async () => {
    const relay = await startRelay();
    cleanups.push(relay.stop);
    const { conn } = client(relay.port, { idleTimeoutMs: 300 });
    cleanups.push(async () => conn.stop());
    conn.start();
    await vi.waitFor(() => expect(conn.status).toBe('open'), WAIT);
    const beat = setInterval(() => relay.broadcast('{"type":"heartbeat","server_time":1}'), 50);
    await new Promise((r) => setTimeout(r, 900));
    clearInterval(beat);
    expect(conn.stats.opens).toBe(1);
    expect(conn.stats.closes).toBe(0);
  });

  it('offers the bearer token as a subprotocol', async () => {
    const offered = [];
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      handleProtocols: (protocols) => {
        offered.push(...protocols);
        return protocols.values().next().value;
      },
    });
    await new Promise((resolve) => wss.once('listening', resolve));
    cleanups.push(() => new Promise((resolve) => wss.close(resolve)));
    const { conn } = client(wss.address().port, { protocols: ['bearer.s3cret'] });
    cleanups.push(async () => conn.stop());
    conn.start();
    await vi.waitFor(() => expect(conn.status).toBe('open'), WAIT);
    expect(offered).toEqual(['bearer.s3cret']);
  });

  it('stop() closes the socket and stops reconnecting', async () => {
    const relay = await startRelay();
    cleanups.push(relay.stop);
    const { conn, live } = client(relay.port);
    conn.start();
    await vi.waitFor(() => expect(live.vehicles.size).toBe(1), WAIT);
    conn.stop();
    expect(conn.status).toBe('closed');
    await vi.waitFor(() => expect(relay.sockets.size).toBe(0), WAIT);
    expect(conn.retryTimer).toBeNull();
    expect(conn.socket).toBeNull();
  });
});
