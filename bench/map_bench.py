"""Map frame rate and main-thread cost with 0 / 1k / 10k / 100k live vehicles, in one headless browser.

    python bench/map_bench.py [--seconds 8] [--sizes 1000,10000,100000] [--zoom 12.3] [--density-zoom 11.5]
                              [--interpolate] [--profile] [--query aggregateAbove=1000000]

The page is the built frontend (frontend/dist, served by frontend/serve.py) with the offline basemap.
Vehicles drive a street grid (200 m blocks) over 30 x 30 km of a city, as a random walk turning at
crossings; each sends one fix per second, so every 100 ms a frame carries a tenth of the fleet. The
frames are protocol v2 binary frames, all precomputed before the fleet is shown (--replay-seconds of
driving, built in a Worker of the page that is then terminated) and replayed on schedule through
``live.injectFrame`` (a copy of each buffer with the current time written in, looping when the
recording runs out): during the measured window only the app's own decoding (frame worker), store,
attribute updates and rendering run, no load generator. The page forces a deck.gl redraw on every
animation frame, so the rate it sustains is the frame rate. Chromium renders with software GL here:
compare ratios, not absolutes.
Figures per fleet size: the frame rate and its share of the empty deck's (same run); deck.gl's own
CPU/GPU time per frame and attribute-update time (deck.stats); the main thread's time per update
frame (receiving the worker's message + store + attribute writes; mean, p99 and max over the
measured window, and the max including the fleet's arrival); CPU cores used per thread group over
the window (page main thread, workers, the GPU process's main thread where llvmpipe shades vertices,
llvmpipe's rasteriser threads), read from /proc; --profile adds the main thread's top functions (CDP
sampling profiler). The largest fleet runs again at --density-zoom, where the renderer draws a
density grid (more than `aggregateAbove` vehicles below `aggregateBelowZoom`). --interpolate turns
on GPU interpolation between fixes (every frame then animates).
"""

from __future__ import annotations

import argparse
import os
import shutil
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

# Runs in a Worker of the page, before measuring: moves the fleet on a street grid for `seconds`
# and encodes every 100 ms step as a protocol v2 binary frame (layout in services/ws-relay/README.md),
# then posts all the frames at once (transferred) and is done.
FLEET_WORKER = r"""
const LON0 = 2.20, LAT0 = 48.72, SIZE_M = 30000, BLOCK_M = 200, HZ = 10;
const M_PER_DEG_LAT = 111320, M_PER_DEG_LON = 111320 * Math.cos((LAT0 + 0.135) * Math.PI / 180);
let seed = 12345;
const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
const enc = new TextEncoder();
onmessage = (event) => {
  const { n, seconds } = event.data;
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
  const frames = [];
  for (let tick = 0; tick < seconds * HZ; tick += 1) {
    const members = [];
    for (let i = tick % HZ; i < n; i += HZ) members.push(i);
    const count = members.length;
    let stringBytes = 0;
    for (const i of members) stringBytes += 2 + ids[i].length + 1 + source.length;
    const buffer = new ArrayBuffer(24 + 40 * count + stringBytes);
    const view = new DataView(buffer), bytes = new Uint8Array(buffer);
    bytes.set([71, 83, 70, 49], 0);
    view.setUint8(4, 2);
    view.setUint32(8, count, true);
    view.setUint32(12, stringBytes, true);
    // Times are written again when the frame is replayed.
    const now = 0;
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
    frames.push(buffer);
  }
  postMessage(frames, frames);
};
"""

# Phase 1: the view, the recorded fleet, its replay and a redraw loop; returns once the whole fleet
# has arrived (+2 s).
START = """
async ([n, zoom, workerSource, interpolate, replaySeconds]) => {
  const { renderer, live, store } = window.__geostream;
  renderer.setInterpolate(interpolate);
  renderer.setView({ lon: 2.20 + 0.205, lat: 48.72 + 0.135, zoom, bearing: 0, pitch: 0 });
  let recorded = [];
  if (n > 0) {
    const blob = new Blob([workerSource], { type: 'text/javascript' });
    const recorder = new Worker(URL.createObjectURL(blob));
    recorded = await new Promise((resolve) => {
      recorder.onmessage = (event) => resolve(event.data);
      recorder.postMessage({ n, seconds: replaySeconds });
    });
    recorder.terminate();
  }
  // Replay: every 100 ms a copy of the next recorded frame (the app's decoder takes the buffer)
  // stamped with the current time (header at byte 16, then the count's lon, lat, ts columns).
  let next = 0;
  const replay = () => {
    const frame = recorded[next % recorded.length].slice(0);
    next += 1;
    const view = new DataView(frame);
    const count = view.getUint32(8, true);
    const now = Date.now();
    view.setFloat64(16, now, true);
    new Float64Array(frame, 24 + 16 * count, count).fill(now);
    live.injectFrame(frame);
  };
  const fleet = recorded.length ? setInterval(replay, 100) : null;
  const bench = { fleet, frames: 0, running: true };
  window.__bench = bench;
  const deck = renderer.deck;
  const loop = () => {
    if (!bench.running) return;
    deck.redraw('bench');
    bench.frames += 1;
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const warmupStart = performance.now();
  while (store.size < 0.95 * n && performance.now() - warmupStart < 180000) await sleep(250);
  await sleep(2000);
  return live.stats.applyMs.count;
}
"""

# Phase 2: the measured window.
MEASURE = """
async ([seconds]) => {
  const { renderer, live, store } = window.__geostream;
  const bench = window.__bench;
  const deck = renderer.deck;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const a0 = live.stats.applyMs.count;
  const f0 = bench.frames;
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
  const frames = bench.frames - f0;
  const a1 = live.stats.applyMs;
  bench.running = false;
  if (bench.fleet) clearInterval(bench.fleet);
  const applied = Array.from(live.recentApplyMs(a1.count - a0)).sort((a, b) => a - b);
  const pick = (q) => (applied.length ? applied[Math.round(q * (applied.length - 1))] : 0);
  const avg = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  return {
    fps: frames / elapsed,
    cpu: avg(samples.map((x) => x.cpu).filter(Number.isFinite)),
    gpu: avg(samples.map((x) => x.gpu).filter(Number.isFinite)),
    attr: avg(samples.map((x) => x.attr).filter(Number.isFinite)),
    applyMean: avg(applied), applyP99: pick(0.99), applyMax: pick(1), applyMaxAll: a1.max,
    updates: applied.length, shown: store.size, aggregated: renderer.aggregated,
    interpolate: renderer.interpolate, markers: renderer.markerSizes, drawn: renderer.drawnVehicles,
  };
}
"""

THREAD_GROUPS = (
    "page main thread",
    "page workers (the app's frame decoding)",
    "GPU process main (GL commands, llvmpipe vertex work)",
    "llvmpipe rasteriser threads",
    "other",
)


def thread_group(process_type: str, is_main: bool, name: str) -> str:
    if name.startswith("llvmpipe"):
        return THREAD_GROUPS[3]
    if process_type == "renderer":
        if is_main:
            return THREAD_GROUPS[0]
        if name.startswith("DedicatedWorker"):
            return THREAD_GROUPS[1]
    if process_type == "gpu-process" and is_main:
        return THREAD_GROUPS[2]
    return THREAD_GROUPS[4]


def browser_processes(user_data_dir: Path) -> list[Path]:
    """/proc entries of the browser started with `user_data_dir` and of all its descendants."""
    parents: dict[str, str] = {}
    roots = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            parents[proc.name] = (proc / "stat").read_text().rsplit(")", 1)[1].split()[1]
            if str(user_data_dir).encode() in (proc / "cmdline").read_bytes():
                roots.append(proc.name)
        except OSError:
            continue
    found = set(roots)
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if ppid in found and pid not in found:
                found.add(pid)
                changed = True
    return [Path("/proc") / pid for pid in found]


def thread_cpu(user_data_dir: Path) -> dict[tuple[int, int], tuple[str, float]]:
    """CPU seconds so far of every thread of the browser's processes, with its THREAD_GROUPS group."""
    ticks = os.sysconf("SC_CLK_TCK")
    threads: dict[tuple[int, int], tuple[str, float]] = {}
    for proc in browser_processes(user_data_dir):
        try:
            cmdline = (proc / "cmdline").read_bytes()
            tasks = list((proc / "task").iterdir())
        except OSError:
            continue
        # Chromium rewrites its children's command lines with spaces between the arguments.
        args = cmdline.replace(b"\0", b" ").split()
        process_type = next((a[7:].decode() for a in args if a.startswith(b"--type=")), "browser")
        for task in tasks:
            try:
                name = (task / "comm").read_text().strip()
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            group = thread_group(process_type, task.name == proc.name, name)
            threads[(int(proc.name), int(task.name))] = (group, (int(fields[11]) + int(fields[12])) / ticks)
    return threads


def cores_busy(before: dict, after: dict, wall: float) -> dict[str, float]:
    """CPU seconds per wall second by group, over threads alive at the end (a thread gone is lost)."""
    busy: dict[str, float] = {}
    for key, (group, seconds) in after.items():
        busy[group] = busy.get(group, 0.0) + (seconds - before.get(key, (group, 0.0))[1]) / wall
    return busy


def profile_summary(profile: dict, top: int = 12) -> list[tuple[str, float]]:
    """Self time per function (ms) of a CDP CPU profile, largest first."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    self_us: dict[int, float] = {}
    deltas = profile.get("timeDeltas", [])
    for node_id, delta in zip(profile.get("samples", []), [*deltas[1:], 0], strict=False):
        self_us[node_id] = self_us.get(node_id, 0.0) + delta
    by_name: dict[str, float] = {}
    for node_id, us in self_us.items():
        frame = nodes[node_id]["callFrame"]
        url = frame.get("url", "").rsplit("/", 1)[-1]
        name = f"{frame.get('functionName') or '(anonymous)'} {url}:{frame.get('lineNumber', 0) + 1}".strip()
        by_name[name] = by_name.get(name, 0.0) + us / 1000
    return sorted(by_name.items(), key=lambda kv: -kv[1])[:top]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--zoom", type=float, default=12.3, help="12.3: 13 x 8 km of the city in view")
    parser.add_argument("--density-zoom", type=float, default=11.5, help="largest fleet, zoomed out")
    parser.add_argument("--query", default="", help="extra page query (config keys), e.g. aggregateAbove=1e9")
    parser.add_argument("--interpolate", action="store_true", help="GPU interpolation between fixes on")
    parser.add_argument("--profile", action="store_true", help="main thread's top functions per run")
    parser.add_argument("--replay-seconds", type=float, default=12, help="recorded driving per fleet")
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
    profiles = {}
    user_data_dir = work / "chromium"
    try:
        server.wait_healthy(f"http://127.0.0.1:{port}/healthz")
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                str(user_data_dir), executable_path="/usr/bin/chromium", headless=True, args=FLAGS,
                viewport={"width": 1280, "height": 800},
            )  # fmt: skip
            url = f"http://127.0.0.1:{port}/?trailPoints=0&basemap=offline&maxVehicles=200000"
            if args.query:
                url += "&" + args.query
            runs = [(n, args.zoom) for n in [0, *sizes]] + [(max(sizes), args.density_zoom)]
            for n, zoom in runs:
                # A fresh page per fleet: no vehicles, workers or JIT state left from the previous run.
                page = context.new_page()
                errors: list[str] = []
                # The relay URL points at a closed port on purpose (frames are injected): its
                # connection errors are expected; any other console error is reported.
                page.on(
                    "console",
                    lambda m, errors=errors: (
                        errors.append(m.text)
                        if m.type == "error" and "WebSocket connection to" not in m.text
                        else None
                    ),
                )
                page.goto(url, timeout=120_000)
                page.wait_for_function("window.__geostream?.renderer.deck", timeout=120_000)
                page.evaluate(START, [n, zoom, FLEET_WORKER, args.interpolate, args.replay_seconds])
                cdp = context.new_cdp_session(page)
                cdp.send("Performance.enable")
                if args.profile:
                    cdp.send("Profiler.enable")
                    cdp.send("Profiler.setSamplingInterval", {"interval": 500})
                    cdp.send("Profiler.start")
                metrics0 = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
                cpu0, wall0 = thread_cpu(user_data_dir), time.perf_counter()
                result = page.evaluate(MEASURE, [args.seconds])
                wall = time.perf_counter() - wall0
                cpu1 = thread_cpu(user_data_dir)
                metrics1 = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
                if args.profile:
                    profiles[(n, zoom)] = profile_summary(cdp.send("Profiler.stop")["profile"])
                result["threads"] = cores_busy(cpu0, cpu1, wall)
                result["mainBusy"] = (metrics1["TaskDuration"] - metrics0["TaskDuration"]) / wall
                result["errors"] = errors
                results[(n, zoom)] = result
                cdp.detach()
                page.close()
            context.close()
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    baseline = results[(0, args.zoom)]
    empty = baseline["fps"]

    def markers(r: dict) -> str:
        m = r.get("markers")
        if r["aggregated"] or not m:
            return ""
        long, dot = 1.9 * m["arrowPixels"], 2 * m["dotPixels"]
        return (
            f"; {m['inView']:,} in view, {r.get('drawn', 0):,} drawn (view + margin),"
            f" markers x{m['scale']:.2f}: arrow {long:.1f} px, dot {dot:.1f} px"
        )

    def threads(r: dict) -> str:
        return ", ".join(f"{g} {r['threads'].get(g, 0.0):.2f}" for g in THREAD_GROUPS)

    def cpu_per_frame(r: dict) -> str:
        # CPU time per drawn frame hardly depends on how busy the machine is, unlike the frame rate;
        # the bound is what 2 idle cores would allow: the busiest thread, or all of them on 2 cores.
        per_frame = {g: 1000 * r["threads"].get(g, 0.0) / max(r["fps"], 1e-9) for g in THREAD_GROUPS}
        raster = per_frame[THREAD_GROUPS[3]]
        bound = max(
            per_frame[THREAD_GROUPS[0]], per_frame[THREAD_GROUPS[2]], raster / 2, sum(per_frame.values()) / 2
        )
        text = ", ".join(f"{g.split(' (')[0]} {ms:.0f}" for g, ms in per_frame.items())
        return f"{text} (ms); on 2 idle cores at most ~{1000 / max(bound, 1e-9):.0f} fps"

    rows = [("empty deck (baseline)", f"{empty:.1f} fps; deck cpu {baseline['cpu']:.1f} ms/frame")]
    rows.append(("  CPU cores busy", threads(baseline)))
    rows.append(("  CPU per frame", cpu_per_frame(baseline)))
    for (n, zoom), r in results.items():
        if n == 0:
            continue
        rows.append(
            (
                f"{n:,} vehicles, zoom {zoom}",
                f"{r['fps']:.1f} fps ({r['fps'] / empty:.0%} of empty; {r['shown']:,} shown"
                f"{', density grid' if r['aggregated'] else ''}"
                f"{', interpolated' if r['interpolate'] else ''}"
                f"{markers(r)})"
                f" | deck: cpu {r['cpu']:.1f} ms/frame, gpu {r['gpu']:.1f} ms/frame,"
                f" attribute update {r['attr']:.1f} ms"
                f" | main thread per update frame ({n // 10:,} vehicles): mean {r['applyMean']:.2f} ms,"
                f" p99 {r['applyP99']:.1f} ms, max {r['applyMax']:.1f} ms ({r['updates']} frames;"
                f" max incl. the fleet's arrival {r['applyMaxAll']:.1f} ms)",
            )
        )
        rows.append(("  CPU cores busy", f"{threads(r)}; main thread busy {r['mainBusy']:.0%}"))
        rows.append(("  CPU per frame", cpu_per_frame(r)))
        if r["errors"]:
            rows.append(("  console errors", "; ".join(r["errors"][:3])))
    rows.append(("renderer", "headless Chromium, Mesa llvmpipe (software GL): compare ratios only"))
    rows.append(("machine load (1/5/15 min)", " / ".join(f"{x:.1f}" for x in os.getloadavg())))
    print_table("map: live mode, street-grid fleet over 30 km, 1 fix/vehicle/s", rows)
    for (n, zoom), top in profiles.items():
        print_table(
            f"main thread, top self time over {args.seconds:g} s: {n:,} vehicles, zoom {zoom}",
            [(name, f"{ms:.0f} ms") for name, ms in top],
        )


if __name__ == "__main__":
    main()
