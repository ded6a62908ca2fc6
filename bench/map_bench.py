"""Map frame rate and main-thread cost with 0 / 1k / 10k / 100k live vehicles, in one headless browser.

    python bench/map_bench.py [--seconds 8] [--sizes 1000,10000,100000] [--zoom 12.3] [--density-zoom 11.5]

The page is the built frontend (frontend/dist, served by frontend/serve.py) with the offline basemap.
Vehicles drive a street grid (200 m blocks) over 30 x 30 km of a city, as a random walk turning at
crossings; each sends one fix per second, so every 100 ms a frame carries a tenth of the fleet. The
frames are protocol v2 binary frames built in a separate Worker of the page and fed through
``live.injectFrame``: decoding (frame worker), store and attribute updates run exactly as for
frames from the relay. The page forces a deck.gl redraw on every animation frame, so the rate it
sustains is the frame rate. Chromium renders with software GL here: compare ratios, not absolutes.
Figures: the frame rate and its share of the empty deck's; deck.gl's own CPU/GPU time per frame and
attribute-update time (deck.stats); the main thread's time to apply one update frame (store +
attribute writes: live.stats.applyMs). The largest fleet runs again at --density-zoom, where the
renderer draws a density grid (more than `aggregateAbove` vehicles below `aggregateBelowZoom`).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, print_table
from support.processes import ServiceProcess

from localservers import free_port

# Mesa llvmpipe through EGL: software GL still, but several times faster than SwiftShader (ENVIRONMENT.md).
FLAGS = [
    "--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--use-angle=gl-egl", "--ignore-gpu-blocklist",
]  # fmt: skip

# Runs in a Worker of the page: moves the fleet on a street grid and encodes protocol v2 binary
# frames (layout in /work/brief/protocol-v2.md and services/ws-relay/README.md).
FLEET_WORKER = r"""
const LON0 = 2.20, LAT0 = 48.72, SIZE_M = 30000, BLOCK_M = 200, HZ = 10;
const M_PER_DEG_LAT = 111320, M_PER_DEG_LON = 111320 * Math.cos((LAT0 + 0.135) * Math.PI / 180);
let seed = 12345;
const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
const enc = new TextEncoder();
onmessage = (event) => {
  const n = event.data.n;
  const x = new Float64Array(n), y = new Float64Array(n);
  const dir = new Uint8Array(n), speed = new Float32Array(n);
  const streets = Math.floor(SIZE_M / BLOCK_M);
  const ids = Array.from({ length: n }, (_, i) => enc.encode(`veh-${i}`));
  const source = enc.encode('sim');
  for (let i = 0; i < n; i += 1) {
    const along = random() * SIZE_M, street = Math.floor(random() * (streets + 1)) * BLOCK_M;
    if (random() < 0.5) { x[i] = along; y[i] = street; dir[i] = random() < 0.5 ? 1 : 3; }
    else { x[i] = street; y[i] = along; dir[i] = random() < 0.5 ? 0 : 2; }
    speed[i] = 4 + random() * 10;
  }
  const DX = [0, 1, 0, -1], DY = [1, 0, -1, 0];
  function step(i) {
    // One second of driving; at a crossing, turn left or right one time in three.
    const before = dir[i] % 2 === 0 ? y[i] : x[i];
    let nx = x[i] + DX[dir[i]] * speed[i], ny = y[i] + DY[dir[i]] * speed[i];
    const after = dir[i] % 2 === 0 ? ny : nx;
    if (Math.floor(before / BLOCK_M) !== Math.floor(after / BLOCK_M) && random() < 0.33) {
      const crossing = Math.max(Math.floor(before / BLOCK_M), Math.floor(after / BLOCK_M)) * BLOCK_M;
      if (dir[i] % 2 === 0) ny = crossing; else nx = crossing;
      dir[i] = (dir[i] + (random() < 0.5 ? 1 : 3)) % 4;
    }
    if (nx < 0 || nx > SIZE_M || ny < 0 || ny > SIZE_M) { dir[i] = (dir[i] + 2) % 4; nx = x[i]; ny = y[i]; }
    x[i] = nx; y[i] = ny;
  }
  let tick = 0;
  setInterval(() => {
    const members = [];
    for (let i = tick % HZ; i < n; i += HZ) members.push(i);
    tick += 1;
    const count = members.length;
    let stringBytes = 0;
    for (const i of members) stringBytes += 2 + ids[i].length + 1 + source.length;
    const buffer = new ArrayBuffer(24 + 40 * count + stringBytes);
    const view = new DataView(buffer), bytes = new Uint8Array(buffer);
    bytes.set([71, 83, 70, 49], 0);
    view.setUint8(4, 2);
    view.setUint32(8, count, true);
    view.setUint32(12, stringBytes, true);
    const now = Date.now();
    view.setFloat64(16, now, true);
    const f64 = (k) => new Float64Array(buffer, 24 + 8 * k * count, count);
    const f32 = (k) => new Float32Array(buffer, 24 + 24 * count + 4 * k * count, count);
    const lon = f64(0), lat = f64(1), ts = f64(2), sp = f32(0), hd = f32(1), alt = f32(2), bat = f32(3);
    let at = 24 + 40 * count;
    members.forEach((i, k) => {
      step(i);
      lon[k] = LON0 + x[i] / M_PER_DEG_LON; lat[k] = LAT0 + y[i] / M_PER_DEG_LAT; ts[k] = now;
      sp[k] = speed[i]; hd[k] = dir[i] * 90; alt[k] = NaN; bat[k] = NaN;
      view.setUint16(at, ids[i].length, true); at += 2; bytes.set(ids[i], at); at += ids[i].length;
      bytes[at] = source.length; at += 1; bytes.set(source, at); at += source.length;
    });
    postMessage(buffer, [buffer]);
  }, 1000 / HZ);
};
"""

RUN = """
async ([n, seconds, zoom, workerSource]) => {
  const { renderer, live, store } = window.__geostream;
  renderer.setView({ lon: 2.20 + 0.205, lat: 48.72 + 0.135, zoom, bearing: 0, pitch: 0 });
  const blob = new Blob([workerSource], { type: 'text/javascript' });
  const fleet = n > 0 ? new Worker(URL.createObjectURL(blob)) : null;
  if (fleet) {
    fleet.onmessage = (event) => live.injectFrame(event.data);
    fleet.postMessage({ n });
  }
  const deck = renderer.deck;
  let frames = 0;
  let running = true;
  const loop = () => {
    if (!running) return;
    deck.redraw('bench');
    frames += 1;
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  // Warm-up: the whole fleet has arrived (a loaded machine may take a while), then 2 s more.
  const warmupStart = performance.now();
  while (store.size < 0.95 * n && performance.now() - warmupStart < 120000) await sleep(250);
  await sleep(2000);
  const a0 = { ...live.stats.applyMs };
  const f0 = frames;
  // deck.gl's own timers (deck.stats; deck.metrics is refreshed only every 60 frames): averages
  // since deck's last reset, sampled every second.
  const samples = [];
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    await sleep(1000);
    const s = deck.stats;
    samples.push({
      cpu: s.get('CPU Time').getAverageTime(),
      gpu: s.get('GPU Time').getAverageTime(),
      attr: s.get('Update Attributes').getAverageTime(),
    });
  }
  const elapsed = (performance.now() - started) / 1000;
  const a1 = { ...live.stats.applyMs };
  running = false;
  if (fleet) fleet.terminate();
  const updates = a1.count - a0.count;
  const applyMean = updates > 0 ? (a1.mean * a1.count - a0.mean * a0.count) / updates : 0;
  const avg = (key) => {
    const xs = samples.map((x) => x[key]).filter(Number.isFinite);
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
  };
  const result = {
    fps: (frames - f0) / elapsed, cpu: avg('cpu'), gpu: avg('gpu'), attr: avg('attr'), applyMean,
    applyMax: a1.max, updates, shown: store.size, aggregated: renderer.aggregated,
  };
  return result;
}
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--zoom", type=float, default=12.3, help="12.3 shows the whole 30 km city in 1280 px")
    parser.add_argument("--density-zoom", type=float, default=11.5, help="largest fleet, zoomed out")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if not (ROOT / "frontend/dist/index.html").exists():
        sys.exit("build the frontend first: (cd frontend && npm ci && npm run build)")

    from playwright.sync_api import sync_playwright

    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="bench-map-"))
    server = ServiceProcess(
        [sys.executable, "serve.py"],
        {"FRONTEND_HOST": "127.0.0.1", "FRONTEND_PORT": str(port), "WS_URL": f"ws://127.0.0.1:{free_port()}"},
        ROOT / "frontend",
        work / "serve.log",
    ).start()
    results = {}
    try:
        server.wait_healthy(f"http://127.0.0.1:{port}/healthz")
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                str(work / "chromium"), executable_path="/usr/bin/chromium", headless=True, args=FLAGS,
                viewport={"width": 1280, "height": 800},
            )  # fmt: skip
            url = f"http://127.0.0.1:{port}/?trailPoints=0&basemap=offline&maxVehicles=200000"
            runs = [(n, args.zoom) for n in [0, *sizes]] + [(max(sizes), args.density_zoom)]
            for n, zoom in runs:
                # A fresh page per fleet: no vehicles, workers or JIT state left from the previous run.
                page = context.new_page()
                page.goto(url, timeout=120_000)
                page.wait_for_function("window.__geostream?.renderer.deck", timeout=120_000)
                started = time.perf_counter()
                results[(n, zoom)] = page.evaluate(RUN, [n, args.seconds, zoom, FLEET_WORKER])
                results[(n, zoom)]["wall"] = time.perf_counter() - started
                page.close()
            context.close()
    finally:
        server.stop()
    baseline = results[(0, args.zoom)]
    empty = baseline["fps"]
    rows = [("empty deck (baseline)", f"{empty:.1f} fps; deck cpu {baseline['cpu']:.1f} ms/frame")]
    for (n, zoom), r in results.items():
        if n == 0:
            continue
        rows.append(
            (
                f"{n:,} vehicles, zoom {zoom}",
                f"{r['fps']:.1f} fps ({r['fps'] / empty:.0%} of empty; {r['shown']:,} shown"
                f"{', density grid' if r['aggregated'] else ''})"
                f" | deck: cpu {r['cpu']:.1f} ms/frame, gpu {r['gpu']:.1f} ms/frame,"
                f" attribute update {r['attr']:.1f} ms"
                f" | main thread per update frame ({n // 10:,} vehicles): mean {r['applyMean']:.2f} ms,"
                f" max {r['applyMax']:.1f} ms ({r['updates']} frames)",
            )
        )
    rows.append(("renderer", "headless Chromium, Mesa llvmpipe (software GL): compare ratios only"))
    rows.append(("machine load (1/5/15 min)", " / ".join(f"{x:.1f}" for x in os.getloadavg())))
    print_table("map: live mode, street-grid fleet over 30 km, 1 fix/vehicle/s", rows)


if __name__ == "__main__":
    main()
