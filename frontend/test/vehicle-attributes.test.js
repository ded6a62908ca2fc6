import { describe, expect, it } from 'vitest';
import { createFrameProcessor } from '../src/live/frame-processor.js';
import { createVehicleStore } from '../src/live/vehicle-store.js';
import { createVehicleAttributes } from '../src/render/vehicle-attributes.js';
import { SHAPE } from '../src/render/vehicle-layer.js';
import { encodeFrame } from './support/protocol-v2.js';

const T0 = 1_000_000;

function setup(options = {}) {
  const store = createVehicleStore();
  store.setThresholds({ staleSeconds: 10, offlineSeconds: 60 });
  const proc = createFrameProcessor({ liveWindowSeconds: 0, now: () => 0 });
  const attributes = createVehicleAttributes(options);
  const changes = [];
  store.subscribe((c) => changes.push(c));
  const apply = (kind, points) => {
    const r = proc.handle({ type: 'frame', data: encodeFrame(kind, points, T0) });
    if (r.kind === 'data') store.applyData(r);
    else store.applyRemove(r);
    return changes.at(-1);
  };
  return { store, attributes, apply };
}

describe('vehicle attributes', () => {
  it('writes one instance per slot: arrows for vehicles with a heading, dots for the others', () => {
    const { store, attributes, apply } = setup();
    apply('update', [
      { vehicle_id: 'a', ts: T0, lon: 2, lat: 48, heading: 90 },
      { vehicle_id: 'b', ts: T0, lon: 3, lat: 49 },
    ]);
    attributes.syncAll(store, T0);
    const a = attributes.arrays;
    expect(a.positions).toBeInstanceOf(Float32Array);
    expect([...a.positions.slice(0, 4)]).toEqual([2, 48, 3, 49]);
    // Degrees clockwise from north, as the feed sends them (the shader turns the arrow).
    expect(a.angles[0]).toBe(90);
    expect([a.shapes[0], a.shapes[1]]).toEqual([SHAPE.arrow, SHAPE.dot]);
    // Unused slots are invisible and weigh nothing in the density grid.
    expect([a.shapes[2], a.weights[2], a.weights[0]]).toEqual([SHAPE.hidden, 0, 1]);
  });

  it('gives a new descriptor only to attributes that changed, so deck.gl uploads nothing else', () => {
    const { store, attributes, apply } = setup();
    const change = apply('update', [{ vehicle_id: 'a', ts: T0, lon: 2, lat: 48, heading: 0 }]);
    attributes.syncAll(store, T0);
    const first = { ...attributes.descriptors() };
    expect(attributes.dirty.size).toBe(0);
    expect(attributes.descriptors().positions).toBe(first.positions);
    attributes.syncSlots(store, change.upserted, T0);
    const second = attributes.descriptors();
    expect(second.positions).not.toBe(first.positions);
    // The same memory, written in place: a frame allocates no attribute arrays.
    expect(second.positions.value.buffer).toBe(first.positions.value.buffer);
    // Same vehicle, same state: a move uploads positions and angles only.
    expect(second.colors).toBe(first.colors);
    expect(second.shapes).toBe(first.shapes);
    attributes.hideSlots([0]);
    expect(attributes.dirty.has('positions')).toBe(false);
    expect(attributes.dirty.has('shapes')).toBe(true);
    expect(attributes.arrays.shapes[0]).toBe(SHAPE.hidden);
  });

  it('writes only the slots a frame carries', () => {
    const { store, attributes, apply } = setup();
    apply('update', [{ vehicle_id: 'a', ts: T0, lon: 2, lat: 48 }, { vehicle_id: 'b', ts: T0, lon: 3, lat: 49 }]);
    attributes.syncAll(store, T0);
    attributes.arrays.positions[0] = 99;
    const change = apply('update', [{ vehicle_id: 'b', ts: T0 + 1, lon: 4, lat: 49 }]);
    attributes.syncSlots(store, change.upserted, T0);
    expect(attributes.arrays.positions[0]).toBe(99);
    expect(attributes.arrays.positions[2]).toBe(4);
  });

  it('fades stale vehicles and draws offline ones as grey rings as time passes', () => {
    const { store, attributes, apply } = setup();
    apply('update', [{ vehicle_id: 'a', ts: T0, lon: 2, lat: 48, heading: 10 }]);
    attributes.syncAll(store, T0);
    expect(attributes.arrays.colors[3]).toBe(255);
    expect(attributes.restyle(store, T0 + 5_000)).toBe(false);
    expect(attributes.restyle(store, T0 + 20_000)).toBe(true);
    expect(attributes.arrays.colors[3]).toBeLessThan(255);
    expect(attributes.arrays.shapes[0]).toBe(SHAPE.arrow);
    expect(attributes.restyle(store, T0 + 70_000)).toBe(true);
    expect(attributes.arrays.shapes[0]).toBe(SHAPE.ring);
    expect([...attributes.arrays.colors.slice(0, 3)]).toEqual([150, 150, 150]);
  });

  it('follows the store when it reallocates', () => {
    const { store, attributes, apply } = setup();
    attributes.syncAll(store, T0);
    const points = Array.from({ length: 2000 }, (_, i) => ({ vehicle_id: `v${i}`, ts: T0, lon: 1, lat: 1 }));
    const change = apply('update', points);
    attributes.syncSlots(store, change.upserted, T0);
    expect(attributes.capacity).toBe(store.capacity);
    expect(attributes.arrays.weights[1999]).toBe(1);
  });

  it('without interpolation it keeps no previous positions (nothing extra to upload)', () => {
    const { store, attributes, apply } = setup();
    apply('update', [{ vehicle_id: 'a', ts: T0, lon: 2, lat: 48 }]);
    attributes.syncAll(store, T0);
    expect(attributes.arrays.prevPositions).toBeNull();
    expect(Object.keys(attributes.descriptors())).not.toContain('prevPositions');
  });

  it('interpolation: a vehicle glides from where it is drawn to its new fix over the gap between fixes', () => {
    let now = 100;
    const { store, attributes, apply } = setup({ interpolate: true, clock: () => now });
    apply('update', [{ vehicle_id: 'a', ts: T0, lon: 2, lat: 48 }]);
    attributes.syncAll(store, T0);
    const a = attributes.arrays;
    // First fix: no glide, drawn at the fix.
    expect([a.prevPositions[0], a.times[0], a.times[1]]).toEqual([2, 100, 100]);
    let change = apply('update', [{ vehicle_id: 'a', ts: T0 + 1000, lon: 3, lat: 48 }]);
    attributes.syncSlots(store, change.upserted, T0 + 1000);
    expect([a.prevPositions[0], a.positions[0]]).toEqual([2, 3]);
    expect([a.times[0], a.times[1]]).toEqual([100, 101]);
    expect(attributes.animateUntil).toBe(101);
    // Half-way through the glide a new fix arrives: it starts from the drawn (half-way) point.
    now = 100.5;
    change = apply('update', [{ vehicle_id: 'a', ts: T0 + 2000, lon: 4, lat: 48 }]);
    attributes.syncSlots(store, change.upserted, T0 + 2000);
    expect(a.prevPositions[0]).toBeCloseTo(2.5, 5);
    expect([a.times[0], a.times[1]]).toEqual([100.5, 101.5]);
    // A long silence: the next fix snaps instead of crawling across the map.
    now = 200;
    change = apply('update', [{ vehicle_id: 'a', ts: T0 + 60_000, lon: 9, lat: 48 }]);
    attributes.syncSlots(store, change.upserted, T0 + 60_000);
    expect([a.prevPositions[0], a.times[0], a.times[1]]).toEqual([9, 200, 200]);
  });

  it('uploads only the slots up to the high-water mark, not the whole reserved capacity', () => {
    const { store, attributes, apply } = setup();
    store.reserve(50_000);
    apply('update', [{ vehicle_id: 'a', ts: T0, lon: 2, lat: 48 }]);
    attributes.syncAll(store, T0);
    const d = attributes.descriptors(store.highWater);
    expect(attributes.capacity).toBeGreaterThanOrEqual(50_000);
    expect(d.positions.value.length).toBe(2 * 4096);
    expect(d.shapes.value.length).toBe(4096);
    // Still the same memory as the arrays the slots are written to.
    expect(d.positions.value.buffer).toBe(attributes.arrays.positions.buffer);
  });
});
