import { describe, expect, it } from 'vitest';
import { createFrameProcessor, splitResult, transferablesOfResult } from '../src/live/frame-processor.js';
import { createVehicleStore } from '../src/live/vehicle-store.js';
import { vehicleColor } from '../src/lib/live.js';
import { encodeFrame } from './support/protocol-v2.js';

const HELLO = JSON.stringify({ type: 'hello', protocol: 2, format: 'bin', server_time: 1_000_000, heartbeat_s: 5 });
const p = (id, ts, lon = 2, lat = 48, extra = {}) => ({ vehicle_id: id, ts, lon, lat, ...extra });
const rgb = (id) => {
  const [r, g, b] = vehicleColor(id);
  return (r << 16) | (g << 8) | b;
};
const added = (slot, id) => [slot, id, rgb(id)];
// The result's `added` columns as [slot, id, colour] rows.
const addedRows = (result) => [...result.added.slots].map((slot, i) => [slot, result.added.ids[i], result.added.colors[i]]);
const sourceRows = (result) => [...result.sources.slots].map((slot, i) => [slot, result.sources.values[i]]);

// A source per id family: several per frame, some non-ASCII.
const i18n = (id) => (id.startsWith('veh') ? 'sim' : 'générateur');

function processor(options = {}) {
  let mono = 0;
  const proc = createFrameProcessor({ now: () => mono, liveWindowSeconds: 0, ...options });
  return {
    proc,
    advance: (ms) => {
      mono += ms;
    },
    bin: (kind, points, serverTime = 1_000_000) => proc.handle({ type: 'frame', data: encodeFrame(kind, points, serverTime) }),
    json: (obj) => proc.handle({ type: 'frame', data: JSON.stringify(obj) }),
  };
}

describe('frame processor: slots', () => {
  it('gives each vehicle a stable slot and only sends new ids once', () => {
    const { proc, bin } = processor();
    proc.handle({ type: 'frame', data: HELLO });
    const first = bin('snapshot', [p('a', 1), p('b', 1)]);
    expect(first.kind).toBe('data');
    expect(first.frameKind).toBe('snapshot');
    expect([...first.slots]).toEqual([0, 1]);
    // Each new vehicle comes with its colour, so the main thread never hashes ids.
    expect(addedRows(first)).toEqual([added(0, 'a'), added(1, 'b')]);
    const second = bin('update', [p('b', 2, 3, 4)]);
    expect([...second.slots]).toEqual([1]);
    expect(addedRows(second)).toEqual([]);
    expect([second.lon[0], second.lat[0], second.ts[0]]).toEqual([3, 4, 2]);
  });

  it('reuses the slot of a removed vehicle', () => {
    const { proc, bin } = processor();
    proc.handle({ type: 'frame', data: HELLO });
    bin('update', [p('a', 1), p('b', 1)]);
    const removed = bin('remove', [p('a')]);
    expect(removed.kind).toBe('remove');
    expect([...removed.removedSlots]).toEqual([0]);
    expect(removed.removedIds).toEqual(['a']);
    expect(addedRows(bin('update', [p('c', 1)]))).toEqual([added(0, 'c')]);
  });

  it('ignores a fix older than the current one and counts it', () => {
    const { proc, bin } = processor();
    proc.handle({ type: 'frame', data: HELLO });
    bin('update', [p('a', 999_000)]);
    const late = bin('update', [p('a', 998_000), p('b', 999_500)]);
    expect(late.outOfOrder).toBe(1);
    expect([...late.slots]).toEqual([1]);
  });

  it('skips and counts unusable rows and drops vehicles beyond maxVehicles', () => {
    const { proc, bin } = processor({ maxVehicles: 2 });
    proc.handle({ type: 'frame', data: HELLO });
    const r = bin('update', [p('a', 999_000), p('', 999_000), p('x', 999_000, 200), p('b', 999_000), p('c', 999_000)]);
    expect(r.invalid).toBe(2);
    expect(r.dropped).toBe(1);
    expect(r.count).toBe(2);
  });

  it('carries the source only when it changes', () => {
    const { proc, bin } = processor();
    proc.handle({ type: 'frame', data: HELLO });
    expect(sourceRows(bin('update', [p('a', 1, 2, 48, { source: 'mqtt' })]))).toEqual([[0, 'mqtt']]);
    expect(sourceRows(bin('update', [p('a', 2, 2, 48, { source: 'mqtt' })]))).toEqual([]);
    expect(sourceRows(bin('update', [p('a', 3, 2, 48, { source: 'http' })]))).toEqual([[0, 'http']]);
  });

  it('finds a vehicle by its id whatever the format and the id (non-ASCII, many vehicles, removals)', () => {
    const { proc, bin, json } = processor();
    proc.handle({ type: 'frame', data: HELLO });
    const ids = Array.from({ length: 3000 }, (_, i) => (i % 7 === 0 ? `車両-${i}` : `veh-${i}`));
    const first = bin('update', ids.map((id) => p(id, 1, 2, 48, { source: i18n(id) })));
    expect([...first.slots]).toEqual(ids.map((_, i) => i));
    expect(first.added.ids).toEqual(ids);
    // Every third vehicle leaves; the rest keep their slots, whether they come in binary or JSON.
    const gone = ids.filter((_, i) => i % 3 === 0);
    const removed = bin('remove', gone.map((id) => ({ vehicle_id: id })));
    expect(removed.removedIds).toEqual(gone);
    const kept = ids.filter((_, i) => i % 3 !== 0);
    const again = json({ type: 'update', server_time: 1_000_001, vehicles: kept.map((id) => p(id, 2)) });
    expect([...again.slots]).toEqual(ids.map((_, i) => i).filter((i) => i % 3 !== 0));
    expect(again.added.slots.length).toBe(0);
    const later = bin('update', kept.slice(0, 5).map((id) => p(id, 3, 2, 48, { source: i18n(id) })));
    expect(later.added.slots.length).toBe(0);
    expect(later.sources.slots.length).toBe(0);
  });

  it('lists the typed arrays to transfer', () => {
    const { proc, bin } = processor();
    proc.handle({ type: 'frame', data: HELLO });
    const r = bin('update', [p('a', 1)]);
    expect(transferablesOfResult(r)).toContain(r.slots.buffer);
    expect(transferablesOfResult(r)).toContain(r.lon.buffer);
  });
});

describe('frame processor: time, by the relay clock', () => {
  it('drops fixes older than the live window on arrival and expires vehicles on prune', () => {
    const { proc, bin, advance } = processor({ liveWindowSeconds: 60 });
    proc.handle({ type: 'frame', data: HELLO });
    const r = bin('update', [p('old', 1_000_000 - 61_000), p('a', 1_000_000 - 30_000), p('b', 1_000_000)]);
    expect(r.expiredOnArrival).toBe(1);
    expect(r.count).toBe(2);
    advance(40_000);
    const pruned = proc.handle({ type: 'prune' });
    expect(pruned).toMatchObject({ kind: 'remove', expired: true, removedIds: ['a'] });
    expect([...pruned.removedSlots]).toEqual([0]);
  });

  it('expires nothing before the first server_time', () => {
    const { proc } = processor({ liveWindowSeconds: 1 });
    expect(proc.handle({ type: 'prune' })).toMatchObject({ kind: 'remove', expired: true, removedIds: [] });
  });
});

describe('frame processor: protocol versions and reconnects', () => {
  it('resets the slot table on the hello of a later connection', () => {
    const { proc, bin } = processor();
    expect(proc.handle({ type: 'frame', data: HELLO })).toMatchObject({ kind: 'hello', reset: false });
    bin('update', [p('a', 1), p('b', 1)]);
    proc.handle({ type: 'disconnected' });
    expect(proc.handle({ type: 'frame', data: HELLO })).toMatchObject({ kind: 'hello', reset: true });
    expect(addedRows(bin('update', [p('b', 2)]))).toEqual([added(0, 'b')]);
  });

  it('speaks v1 when the relay never says hello: a snapshot replaces the set', () => {
    const { json } = processor();
    const first = json({ type: 'snapshot', vehicles: [p('a', 1), p('b', 1)] });
    expect(first.protocol).toBe(1);
    const second = json({ type: 'snapshot', vehicles: [p('b', 2), p('c', 2)] });
    expect(second.removedIds).toEqual(['a']);
    expect([...second.removedSlots]).toEqual([0]);
    expect(addedRows(second)).toEqual([added(2, 'c')]);
  });

  it('in v2 a snapshot is an upsert (it may come as several frames)', () => {
    const { proc, bin } = processor();
    proc.handle({ type: 'frame', data: HELLO });
    bin('snapshot', [p('a', 1)]);
    expect(bin('snapshot', [p('b', 1)]).removedIds).toEqual([]);
  });

  it('passes control frames through', () => {
    const { json, proc } = processor();
    expect(json({ type: 'heartbeat', server_time: 5 })).toEqual({ kind: 'heartbeat', serverTime: 5 });
    expect(json({ type: 'error', error: 'bad viewport' })).toEqual({ kind: 'error', error: 'bad viewport' });
    expect(proc.handle({ type: 'frame', data: 'not json' }).kind).toBe('garbage');
    expect(proc.handle({ type: 'frame', data: new ArrayBuffer(3) }).kind).toBe('garbage');
  });
});

describe('frame processor: big frames in parts', () => {
  it('splits a big frame into parts that each carry their own rows, new vehicles and sources', () => {
    const { bin } = processor();
    bin('update', [p('old', 1, 1, 1, { source: 'http' })]);
    const points = [p('n0', 1), p('old', 2, 5, 5), p('n1', 1, 2, 48, { source: 'mqtt' }), p('n2', 1), p('n3', 1)];
    const whole = bin('update', points);
    const parts = splitResult(whole, 2);
    expect(parts.map((r) => [r.part, r.parts, r.count])).toEqual([
      [0, 3, 2],
      [1, 3, 2],
      [2, 3, 1],
    ]);
    // Rows, in order, across the parts = the whole frame's rows.
    expect(parts.flatMap((r) => [...r.slots])).toEqual([...whole.slots]);
    expect(parts.flatMap((r) => [...r.lon])).toEqual([...whole.lon]);
    // Each new vehicle arrives with the part holding its row.
    expect(parts.map((r) => r.added.ids)).toEqual([['n0'], ['n1', 'n2'], ['n3']]);
    expect(parts.map((r) => sourceRows(r))).toEqual([[], [[whole.slots[2], 'mqtt']], []]);
    expect(splitResult(whole, 5)).toHaveLength(1);
    expect(splitResult({ kind: 'heartbeat' }, 1)).toEqual([{ kind: 'heartbeat', part: 0, parts: 1 }]);
  });

  it('applied part by part, the store ends as with the whole frame', () => {
    const one = createVehicleStore();
    const many = createVehicleStore();
    const points = Array.from({ length: 50 }, (_, i) => p(`v${i}`, 1, i, i / 2, { source: i % 2 ? 'a' : 'b' }));
    const frame = encodeFrame('update', points, 1_000_000);
    one.applyData(createFrameProcessor({ liveWindowSeconds: 0 }).handle({ type: 'frame', data: frame }));
    for (const part of splitResult(createFrameProcessor({ liveWindowSeconds: 0 }).handle({ type: 'frame', data: frame.slice(0) }), 7)) {
      many.applyData(part);
    }
    expect(many.size).toBe(50);
    for (const id of ['v0', 'v17', 'v49']) expect(many.get(id)).toEqual(one.get(id));
  });
});
