import { describe, expect, it } from 'vitest';
import { parseFrame, validatePoint } from '../src/lib/frames.js';

describe('validatePoint', () => {
  it('keeps the contract fields and drops unknown ones', () => {
    expect(
      validatePoint({ vehicle_id: 'a', ts: 1, lon: 2, lat: 3, speed: 4, heading: 90, source: 'x' }),
    ).toEqual({ vehicle_id: 'a', ts: 1, lon: 2, lat: 3, speed: 4, heading: 90 });
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
  it('parses snapshot and update frames', () => {
    const snap = parseFrame(JSON.stringify({ type: 'snapshot', vehicles: [{ vehicle_id: 'a', ts: 1, lon: 0, lat: 0 }] }));
    expect(snap.kind).toBe('snapshot');
    expect(snap.points).toHaveLength(1);
    const upd = parseFrame(JSON.stringify({ type: 'update', vehicles: [] }));
    expect(upd).toEqual({ kind: 'update', points: [], invalid: 0 });
  });

  it('counts invalid points but keeps the valid ones of the frame', () => {
    const f = parseFrame(
      JSON.stringify({ type: 'update', vehicles: [{ vehicle_id: 'a', ts: 1, lon: 0, lat: 0 }, { nope: 1 }, 5] }),
    );
    expect(f.points.map((p) => p.vehicle_id)).toEqual(['a']);
    expect(f.invalid).toBe(2);
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
    ['{"vehicles":[]}'],
    ['{"type":"update","vehicles":{"a":1}}'],
  ])('treats %s as garbage', (text) => {
    expect(parseFrame(text).kind).toBe('garbage');
  });

  it('treats binary frames as garbage', () => {
    expect(parseFrame(new ArrayBuffer(4))).toEqual({ kind: 'garbage', reason: 'binary frame' });
  });
});
