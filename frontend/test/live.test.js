import { describe, expect, it } from 'vitest';
import { parseFrame } from '../src/lib/frames.js';
import {
  applyFrame,
  applyPoints,
  buildTrailSegments,
  buildVehicleBuffers,
  clearLive,
  coalescePoints,
  createLiveState,
  pruneOutside,
  pruneStale,
  unwrapLon,
  vehicleColor,
} from '../src/lib/live.js';

const NOW = 1_700_000_000_000;
const pt = (id, ts, lon, lat, extra = {}) => ({ vehicle_id: id, ts, lon, lat, ...extra });
const frame = (type, vehicles) => parseFrame(JSON.stringify({ type, vehicles }));
const trailOf = (state, id) => {
  const t = state.vehicles.get(id).trail;
  const out = [];
  for (let i = 0; i < t.length; i += 3) out.push([t[i], t[i + 1], t[i + 2]]);
  return out;
};

describe('snapshot and update frames', () => {
  it('a snapshot sets the vehicles, an update moves and adds them', () => {
    const s = createLiveState();
    applyFrame(s, frame('snapshot', [pt('a', NOW, 1, 1), pt('b', NOW, 2, 2)]), NOW);
    expect([...s.vehicles.keys()].sort()).toEqual(['a', 'b']);
    applyFrame(s, frame('update', [pt('a', NOW + 1000, 1.1, 1, { speed: 12.5, heading: 90 }), pt('c', NOW, 3, 3)]), NOW);
    expect(s.vehicles.size).toBe(3);
    const a = s.vehicles.get('a');
    expect([a.lon, a.lat, a.speed, a.heading, a.ts]).toEqual([1.1, 1, 12.5, 90, NOW + 1000]);
    expect(s.counters).toMatchObject({ frames: 2, snapshots: 1, updates: 1, garbage: 0 });
  });

  it('a later snapshot (after a reconnect) removes vehicles it does not list', () => {
    const s = createLiveState();
    applyFrame(s, frame('snapshot', [pt('a', NOW, 1, 1), pt('b', NOW, 2, 2)]), NOW);
    applyFrame(s, frame('snapshot', [pt('b', NOW + 500, 2.5, 2)]), NOW);
    expect([...s.vehicles.keys()]).toEqual(['b']);
    expect(s.vehicles.get('b').lon).toBe(2.5);
  });

  it('keeps the trail of a vehicle that is still in a new snapshot', () => {
    const s = createLiveState();
    applyFrame(s, frame('snapshot', [pt('a', NOW, 0, 0)]), NOW);
    applyFrame(s, frame('update', [pt('a', NOW + 1000, 0.1, 0)]), NOW);
    applyFrame(s, frame('snapshot', [pt('a', NOW + 2000, 0.2, 0)]), NOW);
    expect(trailOf(s, 'a').map((p) => p[0])).toEqual([0, 0.1, 0.2]);
  });

  it('optional fields absent from a newer point are cleared', () => {
    const s = createLiveState();
    applyPoints(s, [pt('a', NOW, 0, 0, { speed: 3, heading: 10 })], NOW);
    applyPoints(s, [pt('a', NOW + 1, 0, 0.001)], NOW);
    expect(s.vehicles.get('a').speed).toBeUndefined();
    expect(s.vehicles.get('a').heading).toBeUndefined();
  });

  it('bumps the version only on visible changes', () => {
    const s = createLiveState();
    applyPoints(s, [pt('a', NOW, 0, 0)], NOW);
    const v = s.version;
    expect(applyPoints(s, [pt('a', NOW, 0, 0)], NOW)).toBe(false);
    expect(s.version).toBe(v);
    expect(applyPoints(s, [pt('a', NOW + 1, 0.5, 0)], NOW)).toBe(true);
    expect(s.version).toBe(v + 1);
  });
});

describe('garbage tolerance', () => {
  it('counts garbage and error frames without touching the vehicles', () => {
    const s = createLiveState();
    applyFrame(s, frame('snapshot', [pt('a', NOW, 1, 1)]), NOW);
    const before = s.version;
    for (const text of ['}{', '[]', '{"type":"nope"}', new ArrayBuffer(2)]) applyFrame(s, parseFrame(text), NOW);
    applyFrame(s, parseFrame('{"type":"error","error":"bad bbox"}'), NOW);
    expect(s.counters.garbage).toBe(4);
    expect(s.counters.errors).toBe(1);
    expect(s.lastError).toBe('bad bbox');
    expect(s.version).toBe(before);
    expect(s.vehicles.size).toBe(1);
    applyFrame(s, frame('update', [pt('a', NOW + 1, 1.5, 1)]), NOW);
    expect(s.vehicles.get('a').lon).toBe(1.5);
  });

  it('counts invalid points of an otherwise good frame', () => {
    const s = createLiveState();
    applyFrame(s, frame('update', [pt('a', NOW, 1, 1), { vehicle_id: 'b', lon: 1 }]), NOW);
    expect(s.vehicles.size).toBe(1);
    expect(s.counters.invalidPoints).toBe(1);
  });
});

describe('event time', () => {
  it('ignores a point older than the one shown', () => {
    const s = createLiveState();
    applyPoints(s, [pt('a', NOW, 1, 1)], NOW);
    applyPoints(s, [pt('a', NOW - 5000, 9, 9)], NOW);
    expect(s.vehicles.get('a').lon).toBe(1);
    expect(s.counters.outOfOrderPoints).toBe(1);
  });

  it('applies the points of one frame in event-time order', () => {
    const s = createLiveState();
    applyPoints(s, [pt('a', NOW + 2000, 0.2, 0), pt('a', NOW, 0, 0), pt('a', NOW + 1000, 0.1, 0)], NOW);
    expect(s.vehicles.get('a').lon).toBe(0.2);
    expect(trailOf(s, 'a').map((p) => p[0])).toEqual([0, 0.1, 0.2]);
    expect(s.counters.outOfOrderPoints).toBe(0);
  });

  it('does not show points older than the live window (history mode shows them)', () => {
    const s = createLiveState({ liveWindowSeconds: 60 });
    applyFrame(s, frame('snapshot', [pt('old', NOW - 61_000, 0, 0), pt('new', NOW - 59_000, 0, 0)]), NOW);
    expect([...s.vehicles.keys()]).toEqual(['new']);
    expect(s.counters.stalePoints).toBe(1);
  });

  it('prunes vehicles that stop reporting', () => {
    const s = createLiveState({ liveWindowSeconds: 60 });
    applyPoints(s, [pt('a', NOW, 0, 0), pt('b', NOW + 30_000, 0, 0)], NOW);
    expect(pruneStale(s, NOW + 61_000)).toBe(1);
    expect([...s.vehicles.keys()]).toEqual(['b']);
  });

  it('a live window of 0 keeps every point', () => {
    const s = createLiveState({ liveWindowSeconds: 0 });
    applyPoints(s, [pt('a', 1_000, 0, 0)], NOW);
    expect(s.vehicles.size).toBe(1);
    expect(pruneStale(s, NOW)).toBe(0);
  });
});

describe('trails', () => {
  it('are bounded in points', () => {
    const s = createLiveState({ trailPoints: 5, trailSeconds: 3600 });
    for (let i = 0; i < 20; i += 1) applyPoints(s, [pt('a', NOW + i * 1000, i * 0.01, 0)], NOW);
    const t = trailOf(s, 'a');
    expect(t).toHaveLength(5);
    expect(t[4][0]).toBeCloseTo(0.19);
    expect(t[0][0]).toBeCloseTo(0.15);
  });

  it('are bounded in age (relative to the vehicle’s newest point)', () => {
    const s = createLiveState({ trailPoints: 100, trailSeconds: 10 });
    for (let i = 0; i <= 20; i += 1) applyPoints(s, [pt('a', NOW + i * 1000, i * 0.01, 0)], NOW);
    const t = trailOf(s, 'a');
    expect(t[0][2]).toBe(NOW + 10_000);
    expect(t[t.length - 1][2]).toBe(NOW + 20_000);
  });

  it('do not grow while a vehicle stands still', () => {
    const s = createLiveState();
    for (let i = 0; i < 10; i += 1) applyPoints(s, [pt('a', NOW + i * 1000, 5, 5)], NOW);
    expect(trailOf(s, 'a')).toEqual([[5, 5, NOW + 9000]]);
  });

  it('replace the last point on a correction with the same timestamp', () => {
    const s = createLiveState();
    applyPoints(s, [pt('a', NOW, 0, 0)], NOW);
    applyPoints(s, [pt('a', NOW + 1000, 1, 1)], NOW);
    applyPoints(s, [pt('a', NOW + 1000, 1.5, 1)], NOW);
    expect(trailOf(s, 'a')).toEqual([
      [0, 0, NOW],
      [1.5, 1, NOW + 1000],
    ]);
  });

  it('continue across the antimeridian instead of spanning the world', () => {
    const s = createLiveState();
    applyPoints(s, [pt('a', NOW, 179.5, 0)], NOW);
    applyPoints(s, [pt('a', NOW + 1000, -179.5, 0)], NOW);
    expect(trailOf(s, 'a').map((p) => p[0])).toEqual([179.5, 180.5]);
    expect(s.vehicles.get('a').lon).toBe(-179.5);
  });

  it('sample a fast stream at the minimum interval while the head follows every point', () => {
    const s = createLiveState({ trailPoints: 100, trailMinIntervalMs: 1000 });
    // 10 Hz for 5 s
    for (let i = 0; i <= 50; i += 1) applyPoints(s, [pt('a', NOW + i * 100, i * 0.001, 0)], NOW);
    const t = trailOf(s, 'a');
    const times = t.map((p) => p[2] - NOW);
    expect(times).toEqual([0, 1000, 2000, 3000, 4000, 5000]);
    expect(t[t.length - 1][0]).toBeCloseTo(0.05);
    for (let i = 1; i < times.length - 1; i += 1) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(1000);
  });

  it('can be switched off', () => {
    const s = createLiveState({ trailPoints: 0 });
    applyPoints(s, [pt('a', NOW, 0, 0)], NOW);
    applyPoints(s, [pt('a', NOW + 1, 1, 0)], NOW);
    expect(s.vehicles.get('a').trail).toEqual([]);
  });
});

describe('unwrapLon', () => {
  it('moves a longitude next to the previous one', () => {
    expect(unwrapLon(-179, 179)).toBe(181);
    expect(unwrapLon(179, -179)).toBe(-181);
    expect(unwrapLon(10, 20)).toBe(10);
    expect(unwrapLon(-170, 540)).toBe(550);
  });
});

describe('coalescing', () => {
  it('keeps the newest point per vehicle', () => {
    const out = coalescePoints([pt('a', 1, 0, 0), pt('b', 5, 0, 0), pt('a', 3, 1, 1), pt('a', 2, 2, 2), pt('b', 5, 9, 9)]);
    expect(out).toEqual([pt('a', 3, 1, 1), pt('b', 5, 9, 9)]);
  });

  it('many frames between two renders leave one state change per vehicle to draw', () => {
    const s = createLiveState();
    const renderedVersion = s.version;
    for (let i = 0; i < 50; i += 1) applyFrame(s, frame('update', [pt('a', NOW + i, i * 0.001, 0)]), NOW);
    expect(s.version).toBeGreaterThan(renderedVersion);
    const buffers = buildVehicleBuffers(s);
    expect(buffers.length).toBe(1);
    expect(buffers.positions[0]).toBeCloseTo(0.049);
  });
});

describe('bounded memory', () => {
  it('drops new vehicles beyond maxVehicles', () => {
    const s = createLiveState({ maxVehicles: 2 });
    applyPoints(s, [pt('a', NOW, 0, 0), pt('b', NOW, 0, 0), pt('c', NOW, 0, 0)], NOW);
    expect(s.vehicles.size).toBe(2);
    expect(s.counters.droppedVehicles).toBe(1);
  });
});

describe('viewport pruning and clearing', () => {
  it('removes vehicles outside the bbox', () => {
    const s = createLiveState();
    applyPoints(s, [pt('in', NOW, 5, 5), pt('out', NOW, 50, 5)], NOW);
    expect(pruneOutside(s, [0, 0, 10, 10])).toBe(1);
    expect([...s.vehicles.keys()]).toEqual(['in']);
    expect(pruneOutside(s, null)).toBe(0);
    clearLive(s);
    expect(s.vehicles.size).toBe(0);
  });
});

describe('render buffers', () => {
  it('vehicle buffers are columnar and aligned with ids', () => {
    const s = createLiveState();
    applyPoints(s, [pt('a', NOW, 1, 2, { heading: 90 }), pt('b', NOW, 3, 4)], NOW);
    const b = buildVehicleBuffers(s);
    expect(b.length).toBe(2);
    expect(b.ids).toEqual(['a', 'b']);
    expect([...b.positions]).toEqual([1, 2, 3, 4]);
    expect([...b.angles]).toEqual([-90, 0]);
    expect([...b.hasHeading]).toEqual([1, 0]);
    expect([...b.colors.subarray(0, 3)]).toEqual(vehicleColor('a'));
    expect(b.colors[3]).toBe(255);
  });

  it('reuses the cache but returns new views', () => {
    const s = createLiveState();
    const cache = {};
    applyPoints(s, [pt('a', NOW, 1, 2)], NOW);
    const first = buildVehicleBuffers(s, cache);
    applyPoints(s, [pt('a', NOW + 1, 1.5, 2)], NOW);
    const second = buildVehicleBuffers(s, cache);
    expect(second.positions).not.toBe(first.positions);
    expect(second.positions.buffer).toBe(first.positions.buffer);
    expect(second.positions[0]).toBe(1.5);
  });

  it('grows past the initial capacity', () => {
    const s = createLiveState();
    const points = Array.from({ length: 3000 }, (_, i) => pt(`v${i}`, NOW, (i % 360) - 180, 0));
    applyPoints(s, points, NOW);
    const b = buildVehicleBuffers(s, {});
    expect(b.length).toBe(3000);
    expect(b.positions.length).toBe(6000);
    expect(b.positions[2 * 2999]).toBe((2999 % 360) - 180);
  });

  it('trail segments join consecutive trail points of each vehicle', () => {
    const s = createLiveState();
    applyPoints(s, [pt('a', NOW, 0, 0), pt('b', NOW, 5, 5)], NOW);
    applyPoints(s, [pt('a', NOW + 1000, 1, 0)], NOW);
    applyPoints(s, [pt('a', NOW + 2000, 2, 0)], NOW);
    const t = buildTrailSegments(s);
    expect(t.length).toBe(2);
    expect([...t.sources]).toEqual([0, 0, 1, 0]);
    expect([...t.targets]).toEqual([1, 0, 2, 0]);
    expect([...t.colors.subarray(0, 3)]).toEqual(vehicleColor('a'));
    // Alpha rises towards the head of the trail.
    expect(t.colors[3]).toBeLessThan(t.colors[7]);
  });
});

describe('vehicleColor', () => {
  it('spreads sequential ids over the colour wheel', () => {
    const buckets = new Set();
    for (let i = 0; i < 24; i += 1) {
      const [r, g, b] = vehicleColor(`veh-${String(i).padStart(3, '0')}`);
      // Which channel dominates, and which is weakest: 6 possible hue sectors.
      const order = [r, g, b].map((v, k) => [v, k]).sort((x, y) => y[0] - x[0]);
      buckets.add(`${order[0][1]}${order[2][1]}`);
    }
    expect(buckets.size).toBeGreaterThanOrEqual(5);
  });

  it('is stable and in range', () => {
    expect(vehicleColor('bus-1')).toEqual(vehicleColor('bus-1'));
    for (const c of vehicleColor('x')) {
      expect(c).toBeGreaterThanOrEqual(0);
      expect(c).toBeLessThanOrEqual(255);
    }
  });
});
