// Decoder of protocol v2 binary frames ("GSF1", little-endian; layout in the protocol spec).
// Pure: runs in the frame worker, and in the main thread where no worker exists (tests).
// Numeric columns are zero-copy views on the received buffer when the platform is little-endian.

import { decodeUtf8 } from './id-table.js';

export const MAGIC = 'GSF1';
export const HEADER_BYTES = 24;
export const BYTES_PER_VEHICLE = 40;
export const KINDS = Object.freeze({ 1: 'snapshot', 2: 'update', 3: 'remove' });

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function garbage(reason) {
  return { kind: 'garbage', reason };
}

function column(Type, view, buffer, byteOffset, n) {
  if (LITTLE_ENDIAN) return new Type(buffer, byteOffset, n);
  const out = new Type(n);
  const size = Type.BYTES_PER_ELEMENT;
  for (let i = 0; i < n; i += 1) {
    out[i] = size === 8 ? view.getFloat64(byteOffset + 8 * i, true) : view.getFloat32(byteOffset + 4 * i, true);
  }
  return out;
}

/**
 * Check one binary frame (an ArrayBuffer) without making a string: the numeric columns and, per
 * row, where its id and source lie in `bytes` (the frame worker looks known ids up by their bytes,
 * src/live/id-table.js). Non-ASCII strings are checked to be valid UTF-8.
 * Returns {kind: 'snapshot'|'update'|'remove', serverTime, count, bytes, idStart: Uint32Array,
 * idLength: Uint16Array, sourceStart: Uint32Array, sourceLength: Uint8Array, lon, lat, ts
 * (Float64Array), speed, heading, alt, battery (Float32Array)} | {kind: 'garbage', reason}.
 */
export function scanBinaryFrame(buffer) {
  if (!(buffer instanceof ArrayBuffer)) return garbage('not an ArrayBuffer');
  if (buffer.byteLength < HEADER_BYTES) return garbage('shorter than the header');
  const view = new DataView(buffer);
  const bytes = new Uint8Array(buffer);
  if (String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]) !== MAGIC) return garbage('bad magic');
  const kind = KINDS[bytes[4]];
  if (!kind) return garbage(`unknown kind ${bytes[4]}`);
  const n = view.getUint32(8, true);
  const stringBytes = view.getUint32(12, true);
  if (buffer.byteLength !== HEADER_BYTES + BYTES_PER_VEHICLE * n + stringBytes) return garbage('length mismatch');
  const serverTime = view.getFloat64(16, true);

  const idStart = new Uint32Array(n);
  const idLength = new Uint16Array(n);
  const sourceStart = new Uint32Array(n);
  const sourceLength = new Uint8Array(n);
  let at = HEADER_BYTES + BYTES_PER_VEHICLE * n;
  const end = at + stringBytes;
  for (let i = 0; i < n; i += 1) {
    if (at + 2 > end) return garbage('string section too short');
    const idBytes = bytes[at] | (bytes[at + 1] << 8);
    at += 2;
    if (at + idBytes + 1 > end) return garbage('string section too short');
    if (!validUtf8(bytes, at, at + idBytes)) return garbage('invalid UTF-8');
    idStart[i] = at;
    idLength[i] = idBytes;
    at += idBytes;
    const sourceBytes = bytes[at];
    at += 1;
    if (at + sourceBytes > end) return garbage('string section too short');
    if (!validUtf8(bytes, at, at + sourceBytes)) return garbage('invalid UTF-8');
    sourceStart[i] = at;
    sourceLength[i] = sourceBytes;
    at += sourceBytes;
  }
  if (at !== end) return garbage('string section has trailing bytes');

  const base = HEADER_BYTES;
  return {
    kind,
    serverTime,
    count: n,
    bytes,
    idStart,
    idLength,
    sourceStart,
    sourceLength,
    lon: column(Float64Array, view, buffer, base, n),
    lat: column(Float64Array, view, buffer, base + 8 * n, n),
    ts: column(Float64Array, view, buffer, base + 16 * n, n),
    speed: column(Float32Array, view, buffer, base + 24 * n, n),
    heading: column(Float32Array, view, buffer, base + 28 * n, n),
    alt: column(Float32Array, view, buffer, base + 32 * n, n),
    battery: column(Float32Array, view, buffer, base + 36 * n, n),
  };
}

function validUtf8(bytes, start, end) {
  for (let i = start; i < end; i += 1) {
    if (bytes[i] > 0x7f) {
      try {
        utf8.decode(bytes.subarray(start, end));
        return true;
      } catch {
        return false;
      }
    }
  }
  return true;
}

/**
 * Decode one binary frame (an ArrayBuffer).
 * Returns {kind: 'snapshot'|'update', serverTime, columns, invalid} | {kind: 'remove', serverTime, ids}
 * | {kind: 'garbage', reason}. Rows are not checked here (`invalid` is 0): the frame processor skips
 * and counts rows with an empty id or unusable lon/lat/ts, whatever the wire format.
 */
export function decodeBinaryFrame(buffer) {
  const frame = scanBinaryFrame(buffer);
  if (frame.kind === 'garbage') return frame;
  const { kind, serverTime, count: n, bytes } = frame;
  const ids = new Array(n);
  const sources = new Array(n);
  for (let i = 0; i < n; i += 1) {
    ids[i] = decodeUtf8(bytes, frame.idStart[i], frame.idStart[i] + frame.idLength[i]);
    sources[i] = decodeUtf8(bytes, frame.sourceStart[i], frame.sourceStart[i] + frame.sourceLength[i]);
  }
  if (kind === 'remove') return { kind, serverTime, ids: ids.filter((id) => id.length > 0) };
  const { lon, lat, ts, speed, heading, alt, battery } = frame;
  const columns = { count: n, ids, sources, lon, lat, ts, speed, heading, alt, battery };
  return { kind, serverTime, columns, invalid: 0 };
}

/** Whether a row's position and time can be shown (the rule for both wire formats). */
export function usablePosition(lon, lat, ts) {
  return lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90 && Number.isFinite(ts);
}

export function isUsableRow(id, lon, lat, ts) {
  return id.length > 0 && usablePosition(lon, lat, ts);
}
