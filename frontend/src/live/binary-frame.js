// Decoder of protocol v2 binary frames ("GSF1", little-endian; layout in the protocol spec).
// Pure: runs in the frame worker, and in the main thread where no worker exists (tests).
// Numeric columns are zero-copy views on the received buffer when the platform is little-endian.

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

function decodeString(bytes, start, end) {
  // Most ids are ASCII: String.fromCharCode is several times faster than TextDecoder for short strings.
  let ascii = true;
  for (let i = start; i < end; i += 1) {
    if (bytes[i] > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return String.fromCharCode.apply(null, bytes.subarray(start, end));
  return utf8.decode(bytes.subarray(start, end));
}

/**
 * Decode one binary frame (an ArrayBuffer).
 * Returns {kind: 'snapshot'|'update', serverTime, columns, invalid} | {kind: 'remove', serverTime, ids}
 * | {kind: 'garbage', reason}. Rows are not checked here (`invalid` is 0): the frame processor skips
 * and counts rows with an empty id or unusable lon/lat/ts, whatever the wire format.
 */
export function decodeBinaryFrame(buffer) {
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

  const ids = new Array(n);
  const sources = new Array(n);
  let at = HEADER_BYTES + BYTES_PER_VEHICLE * n;
  const end = at + stringBytes;
  try {
    for (let i = 0; i < n; i += 1) {
      if (at + 2 > end) return garbage('string section too short');
      const idLength = view.getUint16(at, true);
      at += 2;
      if (at + idLength + 1 > end) return garbage('string section too short');
      ids[i] = decodeString(bytes, at, at + idLength);
      at += idLength;
      const sourceLength = bytes[at];
      at += 1;
      if (at + sourceLength > end) return garbage('string section too short');
      sources[i] = decodeString(bytes, at, at + sourceLength);
      at += sourceLength;
    }
  } catch {
    return garbage('invalid UTF-8');
  }
  if (at !== end) return garbage('string section has trailing bytes');

  if (kind === 'remove') return { kind, serverTime, ids: ids.filter((id) => id.length > 0) };

  const base = HEADER_BYTES;
  const columns = {
    count: n,
    ids,
    sources,
    lon: column(Float64Array, view, buffer, base, n),
    lat: column(Float64Array, view, buffer, base + 8 * n, n),
    ts: column(Float64Array, view, buffer, base + 16 * n, n),
    speed: column(Float32Array, view, buffer, base + 24 * n, n),
    heading: column(Float32Array, view, buffer, base + 28 * n, n),
    alt: column(Float32Array, view, buffer, base + 32 * n, n),
    battery: column(Float32Array, view, buffer, base + 36 * n, n),
  };
  return { kind, serverTime, columns, invalid: 0 };
}

export function isUsableRow(id, lon, lat, ts) {
  return id.length > 0 && lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90 && Number.isFinite(ts);
}
