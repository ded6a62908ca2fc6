import { describe, expect, it } from 'vitest';
import { createFrameProcessor } from '../src/live/frame-processor.js';
import { createVehicleStore } from '../src/live/vehicle-store.js';
import { ARROW_SIZE_PX, DOT_RADIUS_PX, createVehicleAttributes } from '../src/render/vehicle-attributes.js';
import { encodeFrame } from './support/protocol-v2.js';

const T0 = 1_000_000;

function setup() {
  const store = createVehicleStore();
  store.setThresholds({ staleSeconds: 10, offlineSeconds: 60 });
  const proc = createFrameProcessor({ liveWindowSeconds: 0, now: () => 0 });
  const attributes = createVehicleAttributes();
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
    expect([...a.positions.slice(0, 4)]).toEqual([2, 48, 3, 49]);
    // Clockwise heading -> deck.gl's counter-clockwise angle.
    expect(a.angles[0]).toBe(-90);
    expect([a.arrowSizes[0], a.dotRadii[0]]).toEqual([ARROW_SIZE_PX, 0]);
    expect([a.arrowSizes[1], a.dotRadii[1]]).toEqual([0, DOT_RADIUS_PX]);
    // Unused slots are invisible.
    expect([a.arrowSizes[2], a.dotRadii[2], a.weights[2]]).toEqual([0, 0, 0]);
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
    // Same vehicle, same state: a move uploads positions and angles only.
    expect(second.colors).toBe(first.colors);
    expect(second.arrowSizes).toBe(first.arrowSizes);
    attributes.hideSlots([0]);
    expect(attributes.dirty.has('positions')).toBe(false);
    expect(attributes.dirty.has('arrowSizes')).toBe(true);
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

  it('fades stale vehicles and draws offline ones as hollow grey dots as time passes', () => {
    const { store, attributes, apply } = setup();
    apply('update', [{ vehicle_id: 'a', ts: T0, lon: 2, lat: 48, heading: 10 }]);
    attributes.syncAll(store, T0);
    expect(attributes.arrays.colors[3]).toBe(255);
    expect(attributes.restyle(store, T0 + 5_000)).toBe(false);
    expect(attributes.restyle(store, T0 + 20_000)).toBe(true);
    expect(attributes.arrays.colors[3]).toBeLessThan(255);
    expect(attributes.arrays.arrowSizes[0]).toBe(ARROW_SIZE_PX);
    expect(attributes.restyle(store, T0 + 70_000)).toBe(true);
    expect(attributes.arrays.arrowSizes[0]).toBe(0);
    expect(attributes.arrays.dotRadii[0]).toBe(DOT_RADIUS_PX);
    expect(attributes.arrays.colors[3]).toBe(0);
    expect(attributes.arrays.lineColors[3]).toBeGreaterThan(0);
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
});
