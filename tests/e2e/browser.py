"""Debian Chromium driven by Playwright for the map's browser tests: a page that records every console
error, the map's hooks (window.__geostream), waits that say what the page showed when they fail, and
pixel reads of screenshots."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import tempfile
import weakref
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import TimeoutError as PlaywrightTimeout

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
]  # fmt: skip
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# A page or a pipeline hop can take minutes on a machine shared by several builds (load 20 on 2 cores
# was measured: a page load alone took 50-80 s). Waits poll for a condition; these are only limits.
DEFAULT_TIMEOUT_S = 180
FAILURES = Path(os.environ.get("GEOSTREAM_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts"))
FAILURES = FAILURES / "e2e" / "failures"

# What a failed wait reports: the page's own view of its state.
PAGE_STATE = """() => {
  const q = (selector) => document.querySelector(selector);
  const text = (id) => (q(`[data-testid=${id}]`)?.textContent ?? '').trim();
  const g = window.__geostream;
  const details = q('[data-testid=details-panel]');
  const state = {
    url: location.href,
    connection: text('connection-state'),
    mode: document.body.dataset.mode,
    geostream: Boolean(g),
  };
  if (g) {
    state.vehicles = g.store.size;
    state.ids = [...g.store.ids()].slice(0, 12);
    state.view = g.renderer.getView();
    state.basemap = g.renderer.basemap;
    state.mapLoaded = g.renderer.map.loaded();
    state.frames = g.live.stats.frames;
  }
  state.details = details && !details.hidden
    ? { id: details.dataset.vehicleId, state: details.dataset.state,
        text: details.innerText.replace(/\\s+/g, ' ') }
    : 'hidden';
  state.list = text('vehicle-list-count');
  state.rows = [...document.querySelectorAll('[data-testid=vehicle-list] [data-vehicle-id]')]
    .slice(0, 12)
    .map((row) => `${row.dataset.vehicleId} ${row.dataset.state} ${row.getAttribute('aria-selected')}`);
  if (state.mode === 'history') {
    state.history = {
      trips: text('history-trip-count'), status: text('history-status'),
      time: q('[data-testid=history-time]').value, clock: text('history-clock'),
      playing: q('[data-testid=history-play]').dataset.playing,
    };
  }
  return state;
}"""


@dataclass
class ConsoleLog:
    """Console errors and uncaught exceptions of a page, except requests to `expected_failures` (URL
    prefixes the test made unreachable on purpose, e.g. the configured basemap)."""

    expected_failures: tuple[str, ...] = ()
    errors: list[str] = field(default_factory=list)

    def on_console(self, message: Any) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        if any(url.startswith(prefix) for prefix in self.expected_failures):
            return
        self.errors.append(f"console.error: {message.text} ({url})")

    def on_page_error(self, error: Any) -> None:
        self.errors.append(f"uncaught: {error}")


# The last console lines of each page (any level), for the report of a failed wait.
_recent_console: weakref.WeakKeyDictionary[Any, deque[str]] = weakref.WeakKeyDictionary()


@contextmanager
def chromium(playwright: Any, viewport: dict[str, int], **options: Any) -> Iterator[Any]:
    """A fresh persistent context (its own profile directory) of Debian's Chromium."""
    profile = tempfile.mkdtemp(prefix="geostream-chromium-")
    context = playwright.chromium.launch_persistent_context(
        profile, executable_path=CHROMIUM, headless=True, args=FLAGS, viewport=viewport, **options
    )
    try:
        yield context
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(context: Any, log: ConsoleLog) -> Any:
    page = context.new_page()
    page.set_default_timeout(DEFAULT_TIMEOUT_S * 1000)
    recent: deque[str] = deque(maxlen=15)
    _recent_console[page] = recent
    page.on("console", lambda message: recent.append(f"{message.type}: {message.text[:300]}"))
    page.on("console", log.on_console)
    page.on("pageerror", log.on_page_error)
    return page


def page_state(page: Any) -> dict[str, Any]:
    try:
        return page.evaluate(PAGE_STATE)
    except Exception as exc:  # a report of a failure must not fail itself
        return {"unreadable": str(exc)}


def failure_report(page: Any, expected: str) -> str:
    """What the page showed instead of `expected`: its state, its last console lines and a screenshot."""
    FAILURES.mkdir(parents=True, exist_ok=True)
    shot = FAILURES / (re.sub(r"[^a-z0-9]+", "-", expected.lower()).strip("-")[:80] + ".png")
    try:
        page.screenshot(path=str(shot), timeout=60_000)
    except Exception as exc:
        shot = f"(no screenshot: {exc})"
    console = "\n  ".join(_recent_console.get(page, ()))
    state = json.dumps(page_state(page), indent=1)
    return f"the page showed: {state}\nconsole:\n  {console}\nscreenshot: {shot}"


def wait_until(
    page: Any,
    expected: str,
    condition: str,
    arg: Any = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    polling: int = 200,
) -> None:
    """Polls the JS `condition` (a function of `arg`) until it is truthy; otherwise fails with
    `expected` and what the page showed."""
    try:
        page.wait_for_function(condition, arg=arg, timeout=timeout_s * 1000, polling=polling)
    except PlaywrightTimeout:
        report = failure_report(page, expected)
        raise AssertionError(f"expected {expected} within {timeout_s:.0f} s; {report}") from None


def wait_for_map(page: Any) -> None:
    """Until the page has wired its parts and the map (or its offline fallback) has rendered."""
    wait_until(page, "the page to start", "() => window.__geostream && window.__geostream.renderer")
    ready = page.evaluate(
        """(ms) => Promise.race([
             window.__geostream.renderer.ready.then(() => true),
             new Promise((resolve) => setTimeout(() => resolve(false), ms)),
           ])""",
        DEFAULT_TIMEOUT_S * 1000,
    )
    if not ready:
        report = failure_report(page, "the map to render")
        raise AssertionError(f"expected the map to render (renderer.ready); {report}")


def wait_for_connection(page: Any) -> None:
    wait_until(
        page,
        "the live feed to connect (connection-state open)",
        "() => document.querySelector('[data-testid=connection-state]').dataset.state === 'open'",
    )


def has_vehicles(page: Any, ids: list[str], timeout_s: float = 600) -> None:
    """Until every id is in the page's live vehicle store (the pipeline takes seconds to minutes)."""
    wait_until(
        page,
        f"vehicles {ids} in the live store",
        "(ids) => ids.every((id) => window.__geostream.store.get(id) !== null)",
        arg=ids,
        timeout_s=timeout_s,
        polling=250,
    )


def view(page: Any) -> dict[str, float]:
    return page.evaluate("() => window.__geostream.renderer.getView()")


def pixel_of(page: Any, lon: float, lat: float) -> tuple[float, float]:
    x, y = page.evaluate("([lon, lat]) => window.__geostream.renderer.pixelOf(lon, lat)", [lon, lat])
    return x, y


def settle(page: Any) -> None:
    """Until the map has no pending tiles, animation or transition and deck.gl has drawn its current
    layers: two animation frames (the renderer hands deck.gl its layers in one), then a forced redraw,
    then one more frame for the page to present it. deck.gl redraws only when something changed, so
    waiting for redraws to happen by themselves can wait forever on a quiet map."""
    wait_until(
        page,
        "the map to be idle (tiles loaded, not moving)",
        "() => { const m = window.__geostream.renderer.map; return m.loaded() && !m.isMoving(); }",
        polling=100,
    )
    page.evaluate(
        """async () => {
             const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
             const r = window.__geostream.renderer;
             await frame();
             await frame();
             r.map.triggerRepaint();
             if (r.deck) r.deck.redraw('settle');
             await frame();
           }"""
    )


def pixels(page: Any, points: list[tuple[float, float]], radius: int = 0) -> list[list[tuple[int, int, int]]]:
    """RGB of a page screenshot around each CSS-pixel point (a (2r+1)^2 square, row by row). The
    screenshot is decoded by the browser itself (no imaging library on the test side)."""
    png = base64.b64encode(page.screenshot(timeout=DEFAULT_TIMEOUT_S * 1000)).decode()
    return page.evaluate(
        """async ([png, points, r]) => {
             const blob = await (await fetch(`data:image/png;base64,${png}`)).blob();
             const bitmap = await createImageBitmap(blob);
             const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
             const ctx = canvas.getContext('2d');
             ctx.drawImage(bitmap, 0, 0);
             return points.map(([x, y]) => {
               const out = [];
               const data = ctx.getImageData(Math.round(x) - r, Math.round(y) - r, 2 * r + 1, 2 * r + 1).data;
               for (let i = 0; i < data.length; i += 4) out.push([data[i], data[i + 1], data[i + 2]]);
               return out;
             });
           }""",
        [png, [list(p) for p in points], radius],
    )


def distance(a: tuple[int, int, int], b: tuple[int, int, int]) -> int:
    return max(abs(x - y) for x, y in zip(a, b, strict=True))
