// The density grid drawn instead of individual vehicles when many are shown zoomed out: vehicles
// counted in square Web Mercator cells (fixed to the world, so panning re-bins nothing; about
// 16-32 px on screen at the current zoom), coloured on a log scale. Pure: typed arrays in and out.

export const DENSITY_COLORS = [
  [40, 90, 160, 170],
  [30, 150, 200, 190],
  [60, 200, 170, 205],
  [220, 220, 90, 215],
  [250, 160, 50, 225],
  [240, 70, 50, 235],
];

/** Cells per world width (a power of two) for a map zoom: cells of 16 to 32 pixels. */
export function densityLevel(zoom) {
  return Math.max(0, Math.min(24, Math.floor(zoom) + 5));
}

function lngLatOf(x, y) {
  const lon = x * 360 - 180;
  const lat = (Math.atan(Math.sinh(Math.PI * (1 - 2 * y))) * 180) / Math.PI;
  return [lon, lat];
}

/**
 * Count the vehicles (positions [lon, lat, ...], weights > 0) of slots [0, n) per cell of a grid with
 * 2^level cells per world width. Returns {length, positions: Float32Array (cell centres lon/lat),
 * colors: Uint8Array (rgba), counts: Uint32Array, max, halfSize (half a cell in deck.gl common units)}.
 */
export function binDensity(positions, weights, n, level) {
  const cells = 2 ** level;
  // Pass 1: each vehicle's cell, and the box of cells they cover.
  const cellX = new Int32Array(n);
  const cellY = new Int32Array(n);
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < n; i += 1) {
    if (!(weights[i] > 0)) {
      cellX[i] = -1;
      continue;
    }
    // Web Mercator [0, 1), y down.
    const x = (positions[2 * i] + 180) / 360;
    const lat = Math.max(-85.05, Math.min(85.05, positions[2 * i + 1]));
    const s = Math.sin((lat * Math.PI) / 180);
    const y = 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI);
    const cx = Math.min(cells - 1, Math.max(0, Math.floor(x * cells)));
    const cy = Math.min(cells - 1, Math.max(0, Math.floor(y * cells)));
    cellX[i] = cx;
    cellY[i] = cy;
    if (cx < minX) minX = cx;
    if (cx > maxX) maxX = cx;
    if (cy < minY) minY = cy;
    if (cy > maxY) maxY = cy;
  }
  // Pass 2: counts in a dense array over that box (a city: a few thousand cells), or a Map when
  // the vehicles are spread over too much of the world for one.
  const width = maxX - minX + 1;
  const height = maxY - minY + 1;
  const counts = new Map();
  if (n > 0 && minX <= maxX && width * height <= 1 << 22) {
    const grid = new Uint32Array(width * height);
    for (let i = 0; i < n; i += 1) if (cellX[i] >= 0) grid[(cellY[i] - minY) * width + (cellX[i] - minX)] += 1;
    for (let k = 0; k < grid.length; k += 1) {
      if (grid[k] > 0) counts.set((minY + Math.floor(k / width)) * cells + minX + (k % width), grid[k]);
    }
  } else {
    for (let i = 0; i < n; i += 1) {
      if (cellX[i] < 0) continue;
      const key = cellY[i] * cells + cellX[i];
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  const length = counts.size;
  const out = {
    length,
    positions: new Float32Array(2 * length),
    colors: new Uint8Array(4 * length),
    counts: new Uint32Array(length),
    max: 0,
    // deck.gl's common space is 512 units per world width.
    halfSize: 256 / cells,
  };
  let i = 0;
  for (const [key, count] of counts) {
    const cx = key % cells;
    const cy = (key - cx) / cells;
    const [lon, lat] = lngLatOf((cx + 0.5) / cells, (cy + 0.5) / cells);
    out.positions[2 * i] = lon;
    out.positions[2 * i + 1] = lat;
    out.counts[i] = count;
    if (count > out.max) out.max = count;
    i += 1;
  }
  const scale = Math.log(out.max + 1);
  for (let k = 0; k < length; k += 1) {
    const f = scale > 0 ? Math.log(out.counts[k] + 1) / scale : 0;
    const color = DENSITY_COLORS[Math.min(DENSITY_COLORS.length - 1, Math.floor(f * DENSITY_COLORS.length))];
    out.colors.set(color, 4 * k);
  }
  return out;
}
