// Short trails behind live vehicles: per-slot vertex lists, turned into independent segments for a
// binary LineLayer (a much cheaper shader than PathLayer's joins). Only kept for small fleets.

/** Longitude shifted by a multiple of 360 to be within 180 degrees of `previousLon`. */
export function unwrapLon(lon, previousLon) {
  let x = lon;
  while (x - previousLon > 180) x -= 360;
  while (x - previousLon < -180) x += 360;
  return x;
}

export function createTrails({ points = 20, seconds = 120, minIntervalMs = 1000 } = {}) {
  const bySlot = new Map();
  let version = 0;

  return {
    get version() {
      return version;
    },
    get enabled() {
      return points > 0;
    },
    /** A new fix of the vehicle in `slot`. Vertices are at least minIntervalMs apart; newer fixes move the head. */
    record(slot, lon, lat, ts) {
      if (points <= 0) return;
      let t = bySlot.get(slot);
      if (!t) {
        t = [];
        bySlot.set(slot, t);
      }
      const n = t.length;
      const x = n >= 3 ? unwrapLon(lon, t[n - 3]) : lon;
      const anchorTs = n >= 6 ? t[n - 4] : Number.NEGATIVE_INFINITY;
      if (n >= 3 && ts < t[n - 1]) return;
      if (n >= 3 && t[n - 1] - anchorTs < minIntervalMs) {
        t[n - 3] = x;
        t[n - 2] = lat;
        t[n - 1] = ts;
      } else {
        t.push(x, lat, ts);
      }
      let drop = t.length > points * 3 ? t.length - points * 3 : 0;
      const oldest = ts - seconds * 1000;
      while (drop < t.length - 3 && t[drop + 2] < oldest) drop += 3;
      if (drop > 0) t.splice(0, drop);
      version += 1;
    },
    drop(slot) {
      if (bySlot.delete(slot)) version += 1;
    },
    clear() {
      if (bySlot.size > 0) version += 1;
      bySlot.clear();
    },
    get size() {
      return bySlot.size;
    },
    /** {length, sources, targets, colors} for a LineLayer; colorOf(slot) -> [r, g, b]. Alpha rises towards the head. */
    segments(colorOf) {
      let count = 0;
      for (const t of bySlot.values()) if (t.length >= 6) count += t.length / 3 - 1;
      const sources = new Float64Array(2 * count);
      const targets = new Float64Array(2 * count);
      const colors = new Uint8Array(4 * count);
      let i = 0;
      for (const [slot, t] of bySlot) {
        const k = t.length / 3;
        if (k < 2) continue;
        const [r, g, b] = colorOf(slot);
        for (let j = 1; j < k; j += 1) {
          sources[2 * i] = t[3 * (j - 1)];
          sources[2 * i + 1] = t[3 * (j - 1) + 1];
          targets[2 * i] = t[3 * j];
          targets[2 * i + 1] = t[3 * j + 1];
          colors[4 * i] = r;
          colors[4 * i + 1] = g;
          colors[4 * i + 2] = b;
          colors[4 * i + 3] = Math.round(40 + (180 * j) / (k - 1));
          i += 1;
        }
      }
      return { length: count, sources, targets, colors };
    },
  };
}
