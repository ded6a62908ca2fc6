import { describe, expect, it } from 'vitest';
import { decodeBinaryFrame, isUsableRow, scanBinaryFrame } from '../src/live/binary-frame.js';
import { parseFrame } from '../src/lib/frames.js';
import { columnsToPoints, encodeFrame, loadVectors } from './support/protocol-v2.js';

const vectors = loadVectors();

describe('decodeBinaryFrame: the shared protocol v2 test vectors', () => {
  it('finds the vectors', () => {
    expect(vectors.map((v) => v.name)).toEqual(
      expect.arrayContaining(['remove', 'snapshot-empty', 'update-non-ascii-ids', 'update-two-vehicles']),
    );
  });

  it.each(vectors.map((v) => [v.name, v]))('%s decodes to its .json', (_, { buffer, expected }) => {
    const frame = decodeBinaryFrame(buffer);
    expect(frame.kind).toBe(expected.type);
    expect(frame.serverTime).toBe(expected.server_time);
    if (expected.type === 'remove') expect(frame.ids).toEqual(expected.ids);
    else expect(columnsToPoints(frame.columns)).toEqual(expected.vehicles);
  });

  it.each(vectors.filter((v) => v.expected.type !== 'remove').map((v) => [v.name, v]))(
    '%s: the JSON form of the same frame gives the same points',
    (_, { buffer, expected }) => {
      const fromJson = parseFrame(JSON.stringify(expected));
      expect(columnsToPoints(fromJson.columns)).toEqual(columnsToPoints(decodeBinaryFrame(buffer).columns));
    },
  );
});

describe('decodeBinaryFrame: synthetic frames', () => {
  const point = { vehicle_id: 'bus-1', ts: 1000, lon: 2.35, lat: 48.85, speed: 5, heading: 90, alt: 30, battery: 80, source: 'mqtt' };

  it('round-trips every field', () => {
    const frame = decodeBinaryFrame(encodeFrame('update', [point], 42));
    expect(frame).toMatchObject({ kind: 'update', serverTime: 42, invalid: 0 });
    expect(columnsToPoints(frame.columns)).toEqual([point]);
  });

  it('gives zero-copy views for the numeric columns', () => {
    const buffer = encodeFrame('snapshot', [point, { ...point, vehicle_id: 'bus-2' }]);
    const frame = decodeBinaryFrame(buffer);
    expect(frame.columns.lon.buffer).toBe(buffer);
    expect(frame.columns.battery.buffer).toBe(buffer);
  });

  it.each([
    ['too short', () => new ArrayBuffer(10)],
    ['bad magic', () => {
      const b = encodeFrame('update', [point]);
      new Uint8Array(b)[0] = 0x58;
      return b;
    }],
    ['unknown kind', () => {
      const b = encodeFrame('update', [point]);
      new Uint8Array(b)[4] = 9;
      return b;
    }],
    ['one byte too many', () => {
      const b = encodeFrame('update', [point]);
      const longer = new Uint8Array(b.byteLength + 1);
      longer.set(new Uint8Array(b));
      return longer.buffer;
    }],
    ['count larger than the columns', () => {
      const b = encodeFrame('update', [point]);
      new DataView(b).setUint32(8, 2, true);
      return b;
    }],
    ['id length past the end', () => {
      const b = encodeFrame('update', [point]);
      new DataView(b).setUint16(24 + 40, 500, true);
      return b;
    }],
    ['invalid UTF-8 in an id', () => {
      const b = encodeFrame('update', [{ ...point, vehicle_id: 'ab' }]);
      new Uint8Array(b)[24 + 40 + 2] = 0xff;
      return b;
    }],
    ['not an ArrayBuffer', () => 'GSF1'],
  ])('rejects a frame with %s as garbage', (_, make) => {
    expect(decodeBinaryFrame(make()).kind).toBe('garbage');
    expect(scanBinaryFrame(make()).kind).toBe('garbage');
  });

  it('scans a frame into byte offsets of its ids and sources (no strings) and its columns', () => {
    const points = [
      { vehicle_id: 'bus-12', ts: 5, lon: 2.5, lat: 48.5, heading: 90, source: 'mqtt' },
      { vehicle_id: '車両-7', ts: 6, lon: -3, lat: 40 },
    ];
    const frame = scanBinaryFrame(encodeFrame('update', points, 42));
    expect(frame).toMatchObject({ kind: 'update', serverTime: 42, count: 2 });
    const text = (start, length) => new TextDecoder().decode(frame.bytes.subarray(start, start + length));
    expect([0, 1].map((i) => text(frame.idStart[i], frame.idLength[i]))).toEqual(['bus-12', '車両-7']);
    expect([0, 1].map((i) => text(frame.sourceStart[i], frame.sourceLength[i]))).toEqual(['mqtt', '']);
    expect([...frame.lon]).toEqual([2.5, -3]);
    expect([...frame.ts]).toEqual([5, 6]);
    expect(frame.heading[0]).toBe(90);
    expect(Number.isNaN(frame.heading[1])).toBe(true);
  });

  it('leaves row checks to the processor', () => {
    expect(isUsableRow('a', 0, 0, 1)).toBe(true);
    expect(isUsableRow('', 0, 0, 1)).toBe(false);
    expect(isUsableRow('a', Number.NaN, 0, 1)).toBe(false);
    expect(isUsableRow('a', 181, 0, 1)).toBe(false);
    expect(isUsableRow('a', 0, -91, 1)).toBe(false);
    expect(isUsableRow('a', 0, 0, Number.NaN)).toBe(false);
  });
});
