"""Debian Chromium driven by Playwright for the map's browser tests: a page that records every console
error, the map's hooks (window.__geostream) and pixel reads of screenshots."""

from __future__ import annotations

import base64
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
]  # fmt: skip
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


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
    # Waits poll; a machine shared by several builds can take minutes for a page or a pipeline hop.
    page.set_default_timeout(180_000)
    page.on("console", log.on_console)
    page.on("pageerror", log.on_page_error)
    return page


def wait_for_map(page: Any) -> None:
    page.wait_for_function("window.__geostream && window.__geostream.renderer", polling=100)
    page.evaluate("() => window.__geostream.renderer.ready")


def wait_for_connection(page: Any) -> None:
    page.wait_for_function(
        "document.querySelector('[data-testid=connection-state]').dataset.state === 'open'", polling=100
    )


def has_vehicles(page: Any, ids: list[str], timeout_ms: int = 600_000) -> None:
    """Until every id is in the page's live vehicle store (the pipeline takes seconds to minutes)."""
    page.wait_for_function(
        "(ids) => ids.every((id) => window.__geostream.store.get(id) !== null)",
        arg=ids,
        timeout=timeout_ms,
        polling=250,
    )


def view(page: Any) -> dict[str, float]:
    return page.evaluate("() => window.__geostream.renderer.getView()")


def pixel_of(page: Any, lon: float, lat: float) -> tuple[float, float]:
    x, y = page.evaluate("([lon, lat]) => window.__geostream.renderer.pixelOf(lon, lat)", [lon, lat])
    return x, y


def settle(page: Any) -> None:
    """Until the map has no pending tiles, animation or transition, then two more deck.gl redraws."""
    page.wait_for_function(
        "() => { const m = window.__geostream.renderer.map; return m.loaded() && !m.isMoving(); }",
        polling=100,
    )
    page.evaluate(
        """() => new Promise((resolve) => {
             const r = window.__geostream.renderer;
             const start = r.metrics().redraws;
             const poll = () => (r.metrics().redraws >= start + 2 ? resolve() : setTimeout(poll, 100));
             r.map.triggerRepaint();
             r.deck && r.deck.redraw && r.deck.redraw('test');
             poll();
           })"""
    )


def pixels(page: Any, points: list[tuple[float, float]], radius: int = 0) -> list[list[tuple[int, int, int]]]:
    """RGB of a page screenshot around each CSS-pixel point (a (2r+1)^2 square, row by row). The
    screenshot is decoded by the browser itself (no imaging library on the test side)."""
    png = base64.b64encode(page.screenshot(timeout=180_000)).decode()
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
