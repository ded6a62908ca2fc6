"""Map frame rate with 1k and 10k moving vehicles against an empty deck, in the same headless browser.

    python bench/map_bench.py [--seconds 8] [--sizes 1000,10000]

The page is the built frontend (frontend/dist, served by frontend/serve.py); vehicles are fed as relay
update frames every 100 ms through ``window.__geostream.applyFrameText``, and the page forces a
deck.gl redraw on every animation frame. Chromium renders with software GL here, so only the ratio
to the empty deck means anything.
"""

from __future__ import annotations

import argparse
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

FEED = """
([n, seconds]) => new Promise((resolve) => {
  const g = window.__geostream;
  g.state.live.vehicles.clear();
  const ids = Array.from({ length: n }, (_, i) => `bench-${i}`);
  let step = 0;
  const feed = () => {
    step += 1;
    const now = Date.now();
    const vehicles = ids.map((id, i) => ({
      vehicle_id: id, ts: now,
      lon: 2.25 + (i % 100) * 0.002 + step * 1e-5, lat: 48.80 + Math.floor(i / 100) * 0.001,
      speed: 10, heading: 90,
    }));
    g.applyFrameText(JSON.stringify({ type: 'update', vehicles }));
  };
  if (n > 0) feed();
  const timer = n > 0 ? setInterval(feed, 100) : null;
  // Force a full redraw on every animation frame: the rate it sustains is the frame rate.
  let frames = 0;
  let running = true;
  const loop = () => {
    if (!running) return;
    g.deck.redraw('bench');
    frames += 1;
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
  setTimeout(() => {
    const start = frames;
    setTimeout(() => {
      running = false;
      if (timer) clearInterval(timer);
      resolve({ fps: (frames - start) / seconds, shown: g.state.live.vehicles.size });
    }, seconds * 1000);
  }, 2000);
})
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--sizes", default="1000,10000")
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
    try:
        server.wait_healthy(f"http://127.0.0.1:{port}/healthz")
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                str(work / "chromium"), executable_path="/usr/bin/chromium", headless=True, args=FLAGS,
                viewport={"width": 1280, "height": 800},
            )  # fmt: skip
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{port}/?trailPoints=0")
            page.wait_for_function("window.__geostream && window.__geostream.deck", timeout=60_000)
            results = {}
            for n in [0, *sizes]:
                started = time.perf_counter()
                results[n] = page.evaluate(FEED, [n, args.seconds])
                results[n]["wall"] = time.perf_counter() - started
            context.close()
    finally:
        server.stop()
    empty = results[0]["fps"]
    rows = [("empty deck (baseline)", f"{empty:.1f} fps")]
    for n in sizes:
        fps = results[n]["fps"]
        rows.append(
            (
                f"{n:,} moving vehicles",
                f"{fps:.1f} fps ({fps / empty:.0%} of empty; {results[n]['shown']} shown)",
            )
        )
    rows.append(("renderer", "headless Chromium, Mesa llvmpipe (software GL): compare ratios only"))
    print_table("map: frames per second, live mode, trails off", rows)


if __name__ == "__main__":
    main()
