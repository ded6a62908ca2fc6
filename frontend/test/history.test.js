import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SPEEDS,
  advancePlayback,
  autoSpeed,
  buildHeadBuffers,
  createPlayback,
  fetchTrips,
  parseTimeInput,
  positionAt,
  prepareTrips,
  seekPlayback,
  toEpochMs,
  stepTime,
  chooseTrips,
  tripVehicles,
  trailLengthFor,
  tripsUrl,
} from '../src/lib/history.js';

const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);

describe('parseTimeInput', () => {
  it('reads now and relative times', () => {
    expect(parseTimeInput('now', NOW)).toBe(NOW);
    expect(parseTimeInput(' NOW ', NOW)).toBe(NOW);
    expect(parseTimeInput('now-15m', NOW)).toBe(NOW - 15 * 60_000);
    expect(parseTimeInput('now - 2h', NOW)).toBe(NOW - 2 * 3_600_000);
    expect(parseTimeInput('now-1d', NOW)).toBe(NOW - 86_400_000);
    expect(parseTimeInput('now-1.5h', NOW)).toBe(NOW - 5_400_000);
  });

  it('reads epoch milliseconds and ISO 8601', () => {
    expect(parseTimeInput('1714564800000', NOW)).toBe(1714564800000);
    expect(parseTimeInput('2024-05-01T12:00:00Z', NOW)).toBe(NOW);
    expect(parseTimeInput('2024-05-01T14:00:00+02:00', NOW)).toBe(NOW);
  });

  it('returns null for empty or unreadable input', () => {
    for (const bad of ['', '   ', 'yesterday', 'now-5x', null, undefined, 12]) {
      expect(parseTimeInput(bad, NOW)).toBeNull();
    }
  });
});

describe('tripsUrl', () => {
  it('builds the trips-api query with epoch ms and an optional bbox', () => {
    const url = new URL(
      tripsUrl('http://api:8083', { start: 1000.4, end: 2000, bbox: [-1.23456789, 2, 3, 4], limit: 50, offset: 100 }),
    );
    expect(url.pathname).toBe('/api/trips');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      start: '1000',
      end: '2000',
      bbox: '-1.234568,2,3,4',
      limit: '50',
      offset: '100',
    });
    const noBox = new URL(tripsUrl('http://api:8083/prefix', { start: 1, end: 2, limit: 10 }));
    expect(noBox.pathname).toBe('/prefix/api/trips');
    expect(noBox.searchParams.has('bbox')).toBe(false);
    expect(noBox.searchParams.has('offset')).toBe(false);
  });
});

describe('prepareTrips: history time mapping', () => {
  const raw = [
    { vehicle_id: 'a', path: [[0, 0], [1, 1], [2, 2]], timestamps: [NOW + 60_000, NOW + 120_000, NOW + 180_000] },
    { vehicle_id: 'b', path: [[5, 5], [6, 6]], timestamps: [NOW + 30_000, NOW] },
  ];

  it('turns epoch ms into small seconds since the earliest timestamp', () => {
    const r = prepareTrips(raw);
    expect(r.originMs).toBe(NOW);
    expect(r.spanSec).toBe(180);
    expect(r.trips[0].timestamps).toEqual([60, 120, 180]);
    expect(toEpochMs(r.trips[0].timestamps[1], r.originMs)).toBe(NOW + 120_000);
  });

  it('keeps float32 precision: the values survive a Float32Array round trip to the second', () => {
    const r = prepareTrips(raw);
    const f32 = Float32Array.from(r.trips.flatMap((t) => t.timestamps));
    expect([...f32]).toEqual([60, 120, 180, 0, 30]);
    // Raw epoch ms would not: near 1.7e12 float32 values are 131072 ms apart.
    const errors = Array.from({ length: 10 }, (_, i) => Math.abs(Math.fround(NOW + i * 7919) - (NOW + i * 7919)));
    expect(Math.max(...errors)).toBeGreaterThan(10_000);
  });

  it('sorts the points of a trip by time', () => {
    const r = prepareTrips(raw);
    expect(r.trips[1].path).toEqual([[6, 6], [5, 5]]);
    expect(r.trips[1].timestamps).toEqual([0, 30]);
  });

  it('drops unusable trips and points', () => {
    const r = prepareTrips([
      ...raw,
      { vehicle_id: 'mismatch', path: [[0, 0]], timestamps: [1, 2] },
      { vehicle_id: 'empty', path: [], timestamps: [] },
      { path: [[0, 0]], timestamps: [NOW] },
      null,
      { vehicle_id: 'badpoint', path: [[0, 0], [999, 0], [1, 1]], timestamps: [NOW, NOW + 1000, NOW + 2000] },
    ]);
    expect(r.trips.map((t) => t.id)).toEqual(['a', 'b', 'badpoint']);
    expect(r.invalid).toBe(4);
    expect(r.droppedPoints).toBe(1);
  });

  it('returns an empty result for no trips', () => {
    expect(prepareTrips([])).toMatchObject({ trips: [], originMs: null, spanSec: 0 });
  });

  it('unwraps a path across the antimeridian', () => {
    const r = prepareTrips([{ vehicle_id: 'p', path: [[179, 0], [-179, 0], [-178, 0]], timestamps: [0, 1000, 2000] }]);
    expect(r.trips[0].path.map((p) => p[0])).toEqual([179, 181, 182]);
  });

  it('colours trips with the given function', () => {
    const r = prepareTrips(raw, (id) => (id === 'a' ? [1, 2, 3] : [4, 5, 6]));
    expect(r.trips.map((t) => t.color)).toEqual([[1, 2, 3], [4, 5, 6]]);
  });
});

describe('positionAt and heads', () => {
  const trip = { id: 'a', path: [[0, 0], [10, 20]], timestamps: [10, 20], color: [1, 2, 3] };

  it('interpolates between points', () => {
    expect(positionAt(trip, 15)).toEqual([5, 10]);
    expect(positionAt(trip, 10)).toEqual([0, 0]);
  });

  it('is absent before the start and after the end (unless held)', () => {
    expect(positionAt(trip, 9)).toBeNull();
    expect(positionAt(trip, 21)).toBeNull();
    expect(positionAt(trip, 25, 10)).toEqual([10, 20]);
  });

  it('crosses the antimeridian the short way', () => {
    const p = positionAt({ path: [[179, 0], [-179, 0]], timestamps: [0, 2] }, 1);
    expect(Math.abs(p[0])).toBeCloseTo(180);
  });

  it('finds the segment in long trips', () => {
    const n = 1000;
    const long = { path: Array.from({ length: n }, (_, i) => [i / 10, 0]), timestamps: Array.from({ length: n }, (_, i) => i) };
    expect(positionAt(long, 500.5)[0]).toBeCloseTo(50.05);
  });

  it('builds binary buffers for the visible heads only', () => {
    const other = { id: 'b', path: [[0, 0], [1, 1]], timestamps: [100, 200], color: [9, 9, 9] };
    const h = buildHeadBuffers([trip, other], 15, 0, {});
    expect(h.length).toBe(1);
    expect(h.ids).toEqual(['a']);
    expect([...h.positions]).toEqual([5, 10]);
    expect([...h.colors]).toEqual([1, 2, 3, 255]);
  });
});

describe('playback clock', () => {
  it('advances with the speed factor', () => {
    const pb = createPlayback(3600, 60);
    pb.playing = true;
    advancePlayback(pb, 1000);
    expect(pb.currentSec).toBe(60);
  });

  it('does not move while paused', () => {
    const pb = createPlayback(3600, 60);
    advancePlayback(pb, 1000);
    expect(pb.currentSec).toBe(0);
  });

  it('loops at the end, or stops when looping is off', () => {
    const pb = createPlayback(100, 10);
    pb.playing = true;
    advancePlayback(pb, 12_000);
    expect(pb.currentSec).toBe(20);
    const once = createPlayback(100, 10);
    once.playing = true;
    once.loop = false;
    advancePlayback(once, 12_000);
    expect(once.currentSec).toBe(100);
    expect(once.playing).toBe(false);
  });

  it('seeks within the range', () => {
    const pb = createPlayback(100);
    expect(seekPlayback(pb, 40).currentSec).toBe(40);
    expect(seekPlayback(pb, 400).currentSec).toBe(100);
    expect(seekPlayback(pb, -4).currentSec).toBe(0);
    expect(seekPlayback(pb, 'x').currentSec).toBe(0);
  });

  it('picks a speed that replays the range in about a minute', () => {
    expect(autoSpeed(30)).toBe(1);
    expect(autoSpeed(3600)).toBe(60);
    expect(autoSpeed(86_400)).toBe(1800);
    expect(autoSpeed(1e9)).toBe(SPEEDS[SPEEDS.length - 1]);
  });

  it('sizes the trail to the range', () => {
    expect(trailLengthFor(60)).toBe(30);
    expect(trailLengthFor(3000)).toBe(300);
    expect(trailLengthFor(1e6)).toBe(3600);
  });
});

describe('vehicle choice and stepping', () => {
  const trips = [
    { id: 'b', path: [[0, 0], [1, 1]], timestamps: [0, 30] },
    { id: 'a', path: [[0, 0], [1, 1], [2, 2]], timestamps: [10, 20, 50] },
    { id: 'b', path: [[3, 3], [4, 4]], timestamps: [100, 110] },
  ];

  it('lists the vehicles of a result, sorted, with their trip counts', () => {
    expect(tripVehicles(trips)).toEqual([
      { id: 'a', trips: 1 },
      { id: 'b', trips: 2 },
    ]);
    expect(tripVehicles([])).toEqual([]);
  });

  it('keeps only the chosen vehicles; no choice means all', () => {
    expect(chooseTrips(trips, new Set(['b'])).map((t) => t.timestamps[0])).toEqual([0, 100]);
    expect(chooseTrips(trips, new Set())).toBe(trips);
    expect(chooseTrips(trips, null)).toBe(trips);
  });

  it('steps to the next and previous fix of the chosen trips and stops at the ends', () => {
    expect(stepTime(trips, 0, 1)).toBe(10);
    expect(stepTime(trips, 10, 1)).toBe(20);
    expect(stepTime(trips, 25, 1)).toBe(30);
    expect(stepTime(trips, 50, 1)).toBe(100);
    expect(stepTime(trips, 110, 1)).toBe(110);
    expect(stepTime(trips, 100, -1)).toBe(50);
    expect(stepTime(trips, 25, -1)).toBe(20);
    expect(stepTime(trips, 0, -1)).toBe(0);
    expect(stepTime(chooseTrips(trips, new Set(['a'])), 50, 1)).toBe(50);
    expect(stepTime([], 7, 1)).toBe(7);
  });
});

describe('fetchTrips against a real HTTP server', () => {
  let server;
  let base;
  const requests = [];
  const all = Array.from({ length: 7 }, (_, i) => ({ vehicle_id: `v${i}`, path: [[0, 0]], timestamps: [i] }));

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const url = new URL(req.url, 'http://x');
      requests.push(url);
      if (url.pathname === '/broken/api/trips') {
        res.writeHead(400, { 'Content-Type': 'application/json' }).end('{"error":"bad start"}');
        return;
      }
      if (url.pathname === '/stuck/api/trips') {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"trips":[],"next_offset":0}');
        return;
      }
      if (url.pathname === '/html/api/trips') {
        res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html></html>');
        return;
      }
      const limit = Number(url.searchParams.get('limit'));
      const offset = Number(url.searchParams.get('offset') || 0);
      const page = all.slice(offset, offset + limit);
      const next = offset + limit < all.length ? offset + limit : null;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ trips: page, next_offset: next }));
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${server.address().port}`;
  });

  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('follows next_offset through every page', async () => {
    requests.length = 0;
    const r = await fetchTrips(fetch, base, { start: 1, end: 2 }, { pageSize: 3 });
    expect(r.trips.map((t) => t.vehicle_id)).toEqual(all.map((t) => t.vehicle_id));
    expect(r.pages).toBe(3);
    expect(r.truncated).toBe(false);
    expect(requests.map((u) => u.searchParams.get('offset'))).toEqual([null, '3', '6']);
  });

  it('stops at maxTrips and says so', async () => {
    const r = await fetchTrips(fetch, base, { start: 1, end: 2 }, { pageSize: 3, maxTrips: 4 });
    expect(r.trips).toHaveLength(4);
    expect(r.truncated).toBe(true);
  });

  it('reports the API error message', async () => {
    await expect(fetchTrips(fetch, `${base}/broken`, { start: 1, end: 2 })).rejects.toThrow(/HTTP 400: bad start/);
  });

  it('rejects a body without trips', async () => {
    await expect(fetchTrips(fetch, `${base}/html`, { start: 1, end: 2 })).rejects.toThrow(/no "trips" array/);
  });

  it('does not loop on a server that does not advance', async () => {
    const r = await fetchTrips(fetch, `${base}/stuck`, { start: 1, end: 2 });
    expect(r.pages).toBe(1);
  });

  it('can be aborted', async () => {
    const abort = new AbortController();
    abort.abort();
    await expect(fetchTrips(fetch, base, { start: 1, end: 2 }, { signal: abort.signal })).rejects.toThrow();
  });
});
