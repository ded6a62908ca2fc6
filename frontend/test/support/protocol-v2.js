// Test helpers for protocol v2: an encoder written from the spec (for synthetic frames) and the
// shared test vectors of tests/static/protocol-v2 (written by the relay's encoder).
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const KIND = { snapshot: 1, update: 2, remove: 3 };
const utf8 = new TextEncoder();

/** Encode points [{vehicle_id, ts, lon, lat, speed?, heading?, alt?, battery?, source?}] (remove: [{vehicle_id}]). */
export function encodeFrame(kind, points, serverTime = 0) {
  const n = points.length;
  const ids = points.map((p) => utf8.encode(p.vehicle_id));
  const sources = points.map((p) => utf8.encode(p.source ?? ''));
  const stringBytes = ids.reduce((s, id, i) => s + 2 + id.length + 1 + sources[i].length, 0);
  const buffer = new ArrayBuffer(24 + 40 * n + stringBytes);
  const view = new DataView(buffer);
  const bytes = new Uint8Array(buffer);
  bytes.set(utf8.encode('GSF1'), 0);
  view.setUint8(4, KIND[kind]);
  view.setUint32(8, n, true);
  view.setUint32(12, stringBytes, true);
  view.setFloat64(16, serverTime, true);
  const num = (x) => (typeof x === 'number' ? x : Number.NaN);
  points.forEach((p, i) => {
    view.setFloat64(24 + 8 * i, num(p.lon), true);
    view.setFloat64(24 + 8 * n + 8 * i, num(p.lat), true);
    view.setFloat64(24 + 16 * n + 8 * i, num(p.ts), true);
    view.setFloat32(24 + 24 * n + 4 * i, num(p.speed), true);
    view.setFloat32(24 + 28 * n + 4 * i, num(p.heading), true);
    view.setFloat32(24 + 32 * n + 4 * i, num(p.alt), true);
    view.setFloat32(24 + 36 * n + 4 * i, num(p.battery), true);
  });
  let at = 24 + 40 * n;
  points.forEach((_, i) => {
    view.setUint16(at, ids[i].length, true);
    at += 2;
    bytes.set(ids[i], at);
    at += ids[i].length;
    bytes[at] = sources[i].length;
    at += 1;
    bytes.set(sources[i], at);
    at += sources[i].length;
  });
  return buffer;
}

export const VECTOR_DIR = fileURLToPath(new URL('../../../tests/static/protocol-v2/', import.meta.url));

/** [{name, buffer: ArrayBuffer, expected: parsed .json}] for every vector. */
export function loadVectors() {
  return readdirSync(VECTOR_DIR)
    .filter((f) => f.endsWith('.bin'))
    .sort()
    .map((f) => {
      const name = f.slice(0, -4);
      const raw = readFileSync(VECTOR_DIR + f);
      const buffer = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
      return { name, buffer, expected: JSON.parse(readFileSync(`${VECTOR_DIR}${name}.json`, 'utf8')) };
    });
}

/** Rows of decoded columns as the vectors' JSON writes them (NaN -> null, '' source -> null). */
export function columnsToPoints(c) {
  const nul = (x) => (Number.isNaN(x) ? null : x);
  return Array.from({ length: c.count }, (_, i) => ({
    vehicle_id: c.ids[i],
    ts: nul(c.ts[i]),
    lon: nul(c.lon[i]),
    lat: nul(c.lat[i]),
    speed: nul(c.speed[i]),
    heading: nul(c.heading[i]),
    alt: nul(c.alt[i]),
    battery: nul(c.battery[i]),
    source: c.sources[i] || null,
  }));
}
