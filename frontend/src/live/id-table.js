// Vehicle id -> store slot, looked up by the id's UTF-8 bytes as they sit in a binary frame: a
// known vehicle costs a hash of a few bytes and a byte comparison, no string and no Map lookup
// (decoding every id of a 10,000-vehicle frame into a string and looking it up in a Map was most
// of the frame worker's time at 100k vehicles). Open addressing with linear probing in an
// Int32Array (slot + 1; 0 = empty), at most half full; removal shifts the following entries back,
// so there are no tombstones. Slots are chosen by the caller.

const utf8 = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();
const MIN_BUCKETS = 2048;

function finish(h) {
  // murmur3's finaliser: FNV-1a alone leaves ids like veh-1, veh-2 with near-equal low bits.
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Hash of `length` bytes from `start` (FNV-1a with murmur3's finaliser). */
export function hashBytes(bytes, start, length) {
  let h = 0x811c9dc5;
  for (let i = start, end = start + length; i < end; i += 1) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193);
  }
  return finish(h);
}

function isAscii(text) {
  for (let i = 0; i < text.length; i += 1) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** hashBytes of the id's UTF-8 encoding. */
export function hashString(id) {
  if (!isAscii(id)) {
    const bytes = utf8Encoder.encode(id);
    return hashBytes(bytes, 0, bytes.length);
  }
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i += 1) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return finish(h);
}

/** A string from UTF-8 bytes (ASCII, the usual case, without TextDecoder: faster for short strings). */
export function decodeUtf8(bytes, start, end) {
  for (let i = start; i < end; i += 1) {
    if (bytes[i] > 0x7f) return utf8.decode(bytes.subarray(start, end));
  }
  return String.fromCharCode.apply(null, bytes.subarray(start, end));
}

export function createIdTable() {
  let buckets = new Int32Array(MIN_BUCKETS);
  let mask = buckets.length - 1;
  let hashBySlot = new Uint32Array(1024);
  let asciiBySlot = new Uint8Array(1024);
  let idBySlot = [];
  let size = 0;

  function equalsBytes(slot, bytes, start, length) {
    const id = idBySlot[slot];
    if (asciiBySlot[slot] === 0) return id === utf8.decode(bytes.subarray(start, start + length));
    if (id.length !== length) return false;
    for (let i = 0; i < length; i += 1) if (id.charCodeAt(i) !== bytes[start + i]) return false;
    return true;
  }

  function rehash(bucketCount) {
    buckets = new Int32Array(bucketCount);
    mask = bucketCount - 1;
    for (let slot = 0; slot < idBySlot.length; slot += 1) {
      if (idBySlot[slot] === undefined) continue;
      let b = hashBySlot[slot] & mask;
      while (buckets[b] !== 0) b = (b + 1) & mask;
      buckets[b] = slot + 1;
    }
  }

  function ensureSlot(slot) {
    if (slot < hashBySlot.length) return;
    let n = hashBySlot.length;
    while (n <= slot) n *= 2;
    const hashes = new Uint32Array(n);
    hashes.set(hashBySlot);
    hashBySlot = hashes;
    const ascii = new Uint8Array(n);
    ascii.set(asciiBySlot);
    asciiBySlot = ascii;
  }

  const table = {
    get size() {
      return size;
    },
    /** The slot of the id whose UTF-8 bytes are bytes[start, start + length) (hash: hashBytes of them), or -1. */
    findBytes(bytes, start, length, hash) {
      for (let b = hash & mask; ; b = (b + 1) & mask) {
        const entry = buckets[b];
        if (entry === 0) return -1;
        const slot = entry - 1;
        if (hashBySlot[slot] === hash && equalsBytes(slot, bytes, start, length)) return slot;
      }
    },
    /** The slot of `id`, or -1. */
    find(id, hash = hashString(id)) {
      for (let b = hash & mask; ; b = (b + 1) & mask) {
        const entry = buckets[b];
        if (entry === 0) return -1;
        const slot = entry - 1;
        if (hashBySlot[slot] === hash && idBySlot[slot] === id) return slot;
      }
    },
    /** Record `id` (not in the table) at `slot` (free); hash: hashString(id). */
    add(id, slot, hash = hashString(id)) {
      if (2 * (size + 1) > buckets.length) rehash(2 * buckets.length);
      ensureSlot(slot);
      hashBySlot[slot] = hash;
      asciiBySlot[slot] = isAscii(id) ? 1 : 0;
      idBySlot[slot] = id;
      let b = hash & mask;
      while (buckets[b] !== 0) b = (b + 1) & mask;
      buckets[b] = slot + 1;
      size += 1;
    },
    /** Forget the id at `slot`; returns it (undefined when the slot is free). */
    removeSlot(slot) {
      const id = idBySlot[slot];
      if (id === undefined) return undefined;
      let hole = hashBySlot[slot] & mask;
      while (buckets[hole] !== slot + 1) hole = (hole + 1) & mask;
      buckets[hole] = 0;
      // Shift back every following entry of the run that would no longer be found past the hole.
      for (let b = (hole + 1) & mask; buckets[b] !== 0; b = (b + 1) & mask) {
        const home = hashBySlot[buckets[b] - 1] & mask;
        const reachable = hole <= b ? home > hole && home <= b : home > hole || home <= b;
        if (!reachable) {
          buckets[hole] = buckets[b];
          buckets[b] = 0;
          hole = b;
        }
      }
      idBySlot[slot] = undefined;
      size -= 1;
      return id;
    },
    /** The id at `slot`, or undefined. */
    idAt(slot) {
      return idBySlot[slot];
    },
    clear() {
      buckets = new Int32Array(MIN_BUCKETS);
      mask = buckets.length - 1;
      idBySlot = [];
      size = 0;
    },
  };
  return table;
}
