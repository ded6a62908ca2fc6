import { describe, expect, it } from 'vitest';
import { parseFrame, validatePoint } from '../src/lib/frames.js';


describe('validatePoint', () => {
  it('keeps the contract fields and drops unknown ones', () => {
    expect(
      validatePoint({ vehicle_id: 'a', ts: 1, lon: 2, lat: 3, speed: 4, heading: 90, alt: 5, battery: 60, source: 'x', extra: 1 }),
    ).toEqual({ vehicle_id: 'a', ts: 1, lon: 2, lat: 3, speed: 4, heading: 90, alt: 5, battery: 60, source: 'x' });
  });

  it('omits optional fields that are absent or not numbers', () => {
    expect(validatePoint({ vehicle_id: 'a', ts: 1, lon: 2, lat: 3, speed: null, heading: 'N' })).toEqual({
      vehicle_id: 'a',
      ts: 1,
      lon: 2,
      lat: 3,
    });
  });

  it.each([
    [null],
    [[1, 2]],
    [{ ts: 1, lon: 0, lat: 0 }],
    [{ vehicle_id: '', ts: 1, lon: 0, lat: 0 }],
    [{ vehicle_id: 7, ts: 1, lon: 0, lat: 0 }],
    [{ vehicle_id: 'a', ts: '1', lon: 0, lat: 0 }],
    [{ vehicle_id: 'a', ts: 1, lon: 181, lat: 0 }],
    [{ vehicle_id: 'a', ts: 1, lon: 0, lat: -91 }],
    [{ vehicle_id: 'a', ts: 1, lon: Number.NaN, lat: 0 }],
  ])('rejects %j', (p) => {
    expect(validatePoint(p)).toBeNull();
  });
});

describe('parseFrame', () => {
  it('parses snapshot and update frames into columns', () => {
    const snap = parseFrame(
      JSON.stringify({ type: 'snapshot', server_time: 7, vehicles: [{ vehicle_id: 'a', ts: 1, lon: 2, lat: 3, battery: 50 }] }),
    );
    expect(snap).toMatchObject({ kind: 'snapshot', serverTime: 7, invalid: 0 });
    expect(snap.columns.count).toBe(1);
    expect(snap.columns.ids).toEqual(['a']);
    expect([snap.columns.lon[0], snap.columns.lat[0], snap.columns.ts[0], snap.columns.battery[0]]).toEqual([2, 3, 1, 50]);
    expect(Number.isNaN(snap.columns.speed[0])).toBe(true);
    expect(snap.columns.sources).toEqual(['']);
    const upd = parseFrame(JSON.stringify({ type: 'update', vehicles: [] }));
    expect(upd).toMatchObject({ kind: 'update', serverTime: null, invalid: 0 });
    expect(upd.columns.count).toBe(0);
  });

  it('counts invalid points but keeps the valid ones of the frame', () => {
    const f = parseFrame(
      JSON.stringify({ type: 'update', vehicles: [{ vehicle_id: 'a', ts: 1, lon: 0, lat: 0 }, { nope: 1 }, 5] }),
    );
    expect(f.columns.ids).toEqual(['a']);
    expect(f.invalid).toBe(2);
  });

  it('parses the v2 control frames', () => {
    expect(
      parseFrame(
        '{"type":"hello","protocol":2,"format":"bin","server_time":5,"frame_interval_ms":100,"heartbeat_s":5,"vehicle_ttl_s":600}',
      ),
    ).toEqual({ kind: 'hello', protocol: 2, format: 'bin', serverTime: 5, frameIntervalMs: 100, heartbeatS: 5, vehicleTtlS: 600 });
    expect(parseFrame('{"type":"heartbeat","server_time":9}')).toEqual({ kind: 'heartbeat', serverTime: 9 });
    expect(parseFrame('{"type":"remove","server_time":9,"ids":["a","",3,"b"]}')).toEqual({
      kind: 'remove',
      serverTime: 9,
      ids: ['a', 'b'],
    });
  });

  it('reports relay errors', () => {
    expect(parseFrame('{"type":"error","error":"bad viewport"}')).toEqual({ kind: 'error', error: 'bad viewport' });
  });

  it.each([
    ['not json at all'],
    ['{"type":"update","vehicles":'],
    ['[1,2,3]'],
    ['null'],
    ['"text"'],
    ['{"type":"hello"}'],
    ['{"type":"hello","protocol":3,"format":"bin"}'],
    ['{"type":"remove","ids":"a"}'],
    ['{"vehicles":[]}'],
    ['{"type":"update","vehicles":{"a":1}}'],
  ])('treats %s as garbage', (text) => {
    expect(parseFrame(text).kind).toBe('garbage');
  });

  it('treats binary frames as garbage', () => {
    expect(parseFrame(new ArrayBuffer(4))).toEqual({ kind: 'garbage', reason: 'binary frame' });
  });
});
