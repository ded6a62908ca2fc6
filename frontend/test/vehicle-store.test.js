import { describe, expect, it } from 'vitest';
import { createFrameProcessor } from '../src/live/frame-processor.js';
import { createServerClock } from '../src/live/server-clock.js';
import { createVehicleStore, stateIndexForAge } from '../src/live/vehicle-store.js';
import { encodeFrame } from './support/protocol-v2.js';

const T0 = 1_000_000;

function setup() {
  let mono = 0;
  const clock = createServerClock({ now: () => mono });
  const store = createVehicleStore({ clock });
  const proc = createFrameProcessor({ now: () => mono });
  const changes = [];
  store.subscribe((c) => changes.push(c));
  const apply = (kind, points, serverTime = T0) => {
    clock.observe(serverTime);
    const r = proc.handle({ type: 'frame', data: encodeFrame(kind, points, serverTime) });
    if (r.kind === 'data') store.applyData(r);
    else store.applyRemove(r);
    return r;
  };
  return { store, clock, apply, changes, advance: (ms) => (mono += ms) };
}

describe('vehicle store', () => {
  it('stores fixes by slot and answers by id', () => {
    const { store, apply } = setup();
    apply('update', [
      { vehicle_id: 'a', ts: T0 - 1000, lon: 2, lat: 48, speed: 3, heading: 90, alt: 35, battery: 80, source: 'mqtt' },
      { vehicle_id: 'b', ts: T0, lon: 3, lat: 49 },
    ]);
    expect(store.size).toBe(2);
    expect(store.slotOf('a')).toBe(0);
    expect(store.slotOf('nope')).toBe(-1);
    expect(store.idAt(1)).toBe('b');
    expect(store.get('a')).toEqual({ vehicle_id: 'a', ts: T0 - 1000, lon: 2, lat: 48, speed: 3, heading: 90, alt: 35, battery: 80, source: 'mqtt' });
    expect(store.get('b')).toEqual({ vehicle_id: 'b', ts: T0, lon: 3, lat: 49 });
    expect([...store.ids()]).toEqual(['a', 'b']);
  });

  it('tells subscribers which slots changed', () => {
    const { apply, changes } = setup();
    apply('update', [{ vehicle_id: 'a', ts: T0, lon: 2, lat: 48 }, { vehicle_id: 'b', ts: T0, lon: 2, lat: 48 }]);
    apply('update', [{ vehicle_id: 'b', ts: T0 + 1, lon: 2.1, lat: 48 }]);
    expect([...changes[1].upserted]).toEqual([1]);
    apply('remove', [{ vehicle_id: 'a' }]);
    expect(changes[2].removed).toEqual(['a']);
    expect([...changes[2].removedSlots]).toEqual([0]);
  });

  it('bumps membershipVersion only when vehicles come or go', () => {
    const { store, apply } = setup();
    apply('update', [{ vehicle_id: 'a', ts: T0, lon: 2, lat: 48 }]);
    const m = store.membershipVersion;
    const v = store.version;
    apply('update', [{ vehicle_id: 'a', ts: T0 + 1, lon: 2.1, lat: 48 }]);
    expect(store.membershipVersion).toBe(m);
    expect(store.version).toBe(v + 1);
    apply('remove', [{ vehicle_id: 'a' }]);
    expect(store.membershipVersion).toBe(m + 1);
    expect(store.get('a')).toBeNull();
    expect(store.idAt(0)).toBeUndefined();
  });

  it('grows its columns and keeps every vehicle in its slot', () => {
    const { store, apply } = setup();
    const points = Array.from({ length: 3000 }, (_, i) => ({ vehicle_id: `v${i}`, ts: T0, lon: i / 100, lat: 1 }));
    apply('update', points);
    expect(store.capacity).toBeGreaterThanOrEqual(3000);
    expect(store.layoutVersion).toBeGreaterThan(0);
    expect(store.get('v2999').lon).toBeCloseTo(29.99);
    expect(store.slotOf('v2999')).toBe(2999);
  });

  it('reserve() sizes the columns once, so a big fleet arrives without reallocating', () => {
    const { store, apply } = setup();
    store.reserve(5000);
    const capacity = store.capacity;
    const layout = store.layoutVersion;
    expect(capacity).toBeGreaterThanOrEqual(5000);
    apply('update', Array.from({ length: 5000 }, (_, i) => ({ vehicle_id: `v${i}`, ts: T0, lon: 1, lat: 1 })));
    expect([store.capacity, store.layoutVersion, store.size, store.highWater]).toEqual([capacity, layout, 5000, 5000]);
    store.reserve(10);
    expect(store.capacity).toBe(capacity);
  });

  it('computes age and state from the relay clock, not the browser clock', () => {
    const { store, apply, advance } = setup();
    store.setThresholds({ staleSeconds: 10, offlineSeconds: 60 });
    apply('update', [{ vehicle_id: 'a', ts: T0 - 2000, lon: 2, lat: 48 }]);
    expect(store.ageMs('a')).toBe(2000);
    expect(store.state('a')).toBe('live');
    advance(20_000);
    expect(store.state('a')).toBe('stale');
    advance(60_000);
    expect(store.state('a')).toBe('offline');
    expect(store.state('nope')).toBeNull();
  });

  it('clear() forgets everything and says so', () => {
    const { store, apply, changes } = setup();
    apply('update', [{ vehicle_id: 'a', ts: T0, lon: 2, lat: 48 }]);
    store.clear();
    expect(store.size).toBe(0);
    expect(changes.at(-1)).toMatchObject({ cleared: true, removed: ['a'] });
  });

  it('maps ages to states by the thresholds', () => {
    const t = { staleSeconds: 60, offlineSeconds: 300 };
    expect(stateIndexForAge(null, t)).toBe(0);
    expect(stateIndexForAge(60_000, t)).toBe(0);
    expect(stateIndexForAge(60_001, t)).toBe(1);
    expect(stateIndexForAge(300_001, t)).toBe(2);
  });
});
