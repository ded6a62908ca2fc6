"""The map in a real browser (Debian Chromium, headless) on the real pipeline: points posted to http-ingest
reach the page through Kafka, Flink and ws-relay; history comes from MobilityDB through trips-api.

Every test fails on any console error or uncaught exception of the page (the configured basemap is an
unreachable address on purpose, so the only failed request allowed is to it). Waits poll for a condition;
one that times out says what it expected and what the page showed (its state, its last console lines and a
screenshot under artifacts/e2e/failures/). Screenshots of the live, selected, history and phone layouts are
saved under artifacts/e2e/."""

from __future__ import annotations

import math
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from browser import (
    DESKTOP,
    PHONE,
    ConsoleLog,
    chromium,
    distance,
    has_vehicles,
    open_page,
    pixel_of,
    pixels,
    settle,
    view,
    wait_for_connection,
    wait_for_map,
    wait_until,
)
from pipeline import live_positions, post_osmand, post_points, stored_points, wait_for

from localservers import free_port

# Generous: the first test also waits for the local stack and the Flink job's first point, and a point
# can take minutes through the pipeline when the machine is shared (load 40 on 2 cores was seen).
pytestmark = pytest.mark.timeout(3000)

# The stale test's threshold: small enough to see a vehicle turn stale within a test, large enough for
# the pipeline's latency on a busy machine. Other pages use thresholds no test can reach, so what they
# check never depends on how fast the pipeline is.
STALE_SECONDS = 90
CALM = "liveWindowSeconds=0&staleSeconds=3600&offlineSeconds=7200"


@pytest.fixture(scope="module")
def unreachable_basemap() -> str:
    return f"http://127.0.0.1:{free_port()}/style.json"


@pytest.fixture(scope="module")
def warm_pipeline(platform) -> None:
    """The first point through a freshly started Flink job can take minutes: send one and wait for it on
    the live feed, so the tests' own points arrive within seconds and are live (not already stale)."""
    vid = f"warmup-{uuid.uuid4().hex[:6]}"
    post_points(platform.ingest_url, {vid: [(2.25, 48.75, int(time.time()))]})
    assert live_positions(platform.ws_url, {vid}, timeout=480), "the pipeline never delivered a point"


@pytest.fixture(scope="module")
def map_url(platform, unreachable_basemap, warm_pipeline) -> str:
    return f"{platform.frontend_url}/?basemap={quote(unreachable_basemap, safe='')}&{CALM}"


@pytest.fixture(scope="module")
def stale_map_url(platform, unreachable_basemap, warm_pipeline) -> str:
    basemap = quote(unreachable_basemap, safe="")
    return f"{platform.frontend_url}/?basemap={basemap}&staleSeconds={STALE_SECONDS}&offlineSeconds=3600"


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def desktop(playwright) -> Iterator[Any]:
    with chromium(playwright, DESKTOP) as context:
        yield context


@pytest.fixture
def console(unreachable_basemap) -> Iterator[ConsoleLog]:
    log = ConsoleLog(expected_failures=(unreachable_basemap,))
    yield log
    assert log.errors == [], "the page logged errors:\n" + "\n".join(log.errors)


@pytest.fixture
def page(desktop, console) -> Iterator[Any]:
    page = open_page(desktop, console)
    yield page
    page.close()


def new_run() -> str:
    return uuid.uuid4().hex[:6]


def iso(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat().replace("+00:00", "Z")


def text(page: Any, testid: str) -> str:
    return page.text_content(f"[data-testid={testid}]").strip()


def details_of(page: Any, vehicle_id: str) -> None:
    wait_until(
        page,
        f"the details panel of {vehicle_id}",
        "(id) => { const d = document.querySelector('[data-testid=details-panel]');"
        " return !d.hidden && d.dataset.vehicleId === id; }",
        arg=vehicle_id,
        polling=100,
    )


def details_state(page: Any, state: str, timeout_s: float) -> None:
    wait_until(
        page,
        f"the details panel to say {state}",
        "(state) => document.querySelector('[data-testid=details-panel]').dataset.state === state",
        arg=state,
        timeout_s=timeout_s,
        polling=250,
    )


def centred_on(page: Any, lon: float, lat: float, timeout_s: float = 600) -> None:
    wait_until(
        page,
        f"the map centred on {lon}, {lat}",
        "([lon, lat]) => { const v = window.__geostream.renderer.getView();"
        " return Math.abs(v.lon - lon) < 0.002 && Math.abs(v.lat - lat) < 0.002; }",
        arg=[lon, lat],
        timeout_s=timeout_s,
    )


def url_shows(page: Any, **expected: str | None) -> None:
    """Until the URL's fragment has exactly these values (several joined by commas; None: absent). The
    page writes it a moment after each change, and an animated move writes the views on its way."""
    wait_until(
        page,
        f"the URL fragment to show {expected}",
        "(expected) => { const p = new URLSearchParams(location.hash.slice(1));"
        " return Object.entries(expected)"
        ".every(([k, v]) => (v === null ? !p.has(k) : p.getAll(k).join() === v)); }",
        arg=expected,
    )


def open_map(page: Any, url: str) -> None:
    page.goto(url)
    wait_for_map(page)
    wait_for_connection(page)


def shown(page: Any, selector: str) -> bool:
    return page.locator(selector).is_visible()


# What the clicked vehicle reports (Traccar Client's JSON through http-ingest's OsmAnd endpoint) and how
# the details panel shows it.
TELEMETRY = {"speed": 12.5, "heading": 90.0, "altitude": 35.0, "battery": 0.8}
TELEMETRY_SHOWN = {
    "source": "osmand",
    "speed": "45.0 km/h (12.5 m/s)",
    "heading": "90° E",
    "alt": "35 m",
    "battery": "80 %",
}
AGO = r"just now|(\d+ (d|h|min) )?\d+ (s|min|h) ago"


class Devices:
    """Vehicles that keep reporting where they are every few seconds, as real devices do, so they stay
    in the live feed however long a step of the test takes on a busy machine (the relay forgets a
    vehicle 10 minutes after its last point). `move()` changes where one reports from, at once."""

    def __init__(self, ingest_url: str, positions: dict[str, tuple[float, float]], telemetry_of: str):
        self.ingest_url = ingest_url
        self.positions = dict(positions)
        self.telemetry_of = telemetry_of
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def report(self, only: str | None = None) -> None:
        now = int(time.time())
        with self.lock:
            positions = {vid: p for vid, p in self.positions.items() if only in (None, vid)}
        plain = {vid: [(lon, lat, now)] for vid, (lon, lat) in positions.items() if vid != self.telemetry_of}
        if plain:
            post_points(self.ingest_url, plain)
        if self.telemetry_of in positions:
            post_osmand(self.ingest_url, self.telemetry_of, *positions[self.telemetry_of], now, **TELEMETRY)

    def move(self, vehicle_id: str, lon: float, lat: float) -> None:
        with self.lock:
            self.positions[vehicle_id] = (lon, lat)
        self.report(only=vehicle_id)

    def run(self) -> None:
        while not self.stop.wait(5):
            self.report()

    def __enter__(self) -> Devices:
        self.report()
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()


def test_select_follow_search_and_reload(platform, page, map_url, artifacts):
    run = new_run()
    ids = [f"map-{run}-{i}" for i in range(3)]
    positions = {vid: (2.30 + i * 0.02, 48.84 + i * 0.01) for i, vid in enumerate(ids)}
    target = ids[1]
    open_map(page, map_url)
    with Devices(platform.ingest_url, positions, telemetry_of=target) as devices:
        has_vehicles(page, ids)
        # The count is redrawn by the UI's refresh (every 500 ms), which may not have run yet.
        wait_until(
            page,
            "the vehicle count to show at least 3",
            "() => Number(document.querySelector('[data-testid=vehicle-count]').textContent) >= 3",
        )

        page.click("[data-testid=fit-vehicles]")
        settle(page)
        page.screenshot(path=str(artifacts / "live.png"))

        # Click the vehicle where it is drawn: the details panel shows what its device reported. Zoomed
        # in first: fitted to every vehicle (compose's simulators too), the test's three overlap.
        lon, lat = positions[target]
        page.evaluate(
            "([lon, lat]) => window.__geostream.renderer.map.jumpTo({center: [lon, lat], zoom: 14})",
            [lon, lat],
        )
        settle(page)
        page.mouse.click(*pixel_of(page, lon, lat))
        details_of(page, target)
        assert text(page, "details-title") == target
        assert text(page, "detail-position") == f"{lat:.5f}° N, {lon:.5f}° E"
        assert text(page, "detail-status") == "live"
        assert re.fullmatch(AGO, text(page, "detail-seen")), text(page, "detail-seen")
        shown_fields = {field: text(page, f"detail-{field}") for field in TELEMETRY_SHOWN}
        assert shown_fields == TELEMETRY_SHOWN
        url_shows(page, vehicle=target)
        page.hover("[data-testid=details-title]")  # off the map: no hover tooltip in the screenshot
        settle(page)
        page.screenshot(path=str(artifacts / "selected.png"))

        # Follow it: the map keeps it centred as it moves.
        page.click("[data-testid=follow-toggle]")
        assert page.get_attribute("[data-testid=follow-toggle]", "aria-pressed") == "true"
        moved = (lon + 0.03, lat + 0.01)
        devices.move(target, *moved)
        centred_on(page, *moved)
        url_shows(page, vehicle=target, follow="1")

        # Reload with the URL: same vehicle selected and followed, same place.
        page.reload()
        wait_for_map(page)
        details_of(page, target)
        assert page.get_attribute("[data-testid=follow-toggle]", "aria-pressed") == "true"
        centred_on(page, *moved)

        # Search another one by name and pick it with the keyboard.
        page.click("[data-testid=details-close]")
        page.fill("[data-testid=vehicle-search]", ids[2])
        wait_until(
            page,
            f"{ids[2]} alone in the searched list",
            "(id) => document.querySelector(`[data-testid=vehicle-list] [data-vehicle-id='${id}']`)"
            " && document.querySelector('[data-testid=vehicle-list-count]').textContent.startsWith('1 of ')",
            arg=ids[2],
            polling=100,
        )
        page.press("[data-testid=vehicle-search]", "ArrowDown")
        page.keyboard.press("Enter")
        details_of(page, ids[2])
        assert page.get_attribute(f"[data-vehicle-id='{ids[2]}']", "aria-selected") == "true"

    # A plain view survives a reload too.
    page.click("[data-testid=details-close]")
    page.evaluate("() => window.__geostream.renderer.setView({lon: 2.4, lat: 48.9, zoom: 11.5, bearing: 20})")
    url_shows(page, map="11.5/48.9/2.4/20/0", vehicle=None, follow=None)
    page.reload()
    wait_for_map(page)
    restored = view(page)
    assert math.isclose(restored["zoom"], 11.5, abs_tol=0.01), restored
    assert math.isclose(restored["lon"], 2.4, abs_tol=1e-4), restored
    assert math.isclose(restored["lat"], 48.9, abs_tol=1e-4), restored
    assert math.isclose(restored["bearing"], 20, abs_tol=0.1), restored


def test_vehicle_turns_stale_after_its_device_stops(platform, page, stale_map_url):
    vid = f"stale-{new_run()}"
    open_map(page, stale_map_url)
    stop = threading.Event()
    last_sent = [0]

    def device() -> None:
        k = 0
        while not stop.is_set():
            now = int(time.time())
            post_points(platform.ingest_url, {vid: [(2.2 + k * 0.0005, 48.7, now)]})
            last_sent[0] = now
            k += 1
            stop.wait(2)

    sender = threading.Thread(target=device, daemon=True)
    sender.start()
    try:
        has_vehicles(page, [vid])
        page.fill("[data-testid=vehicle-search]", vid)
        page.press("[data-testid=vehicle-search]", "Enter")
        details_of(page, vid)
        details_state(page, "live", timeout_s=600)
    finally:
        stop.set()
        sender.join()
    details_state(page, "stale", timeout_s=STALE_SECONDS + 300)
    # Not before the threshold: ages run on the relay's clock from the last point's event time (whole
    # seconds, so never later than when it was sent).
    assert time.time() >= last_sent[0] + STALE_SECONDS - 1
    assert text(page, "detail-status") == "stale"
    assert page.evaluate("(id) => window.__geostream.store.state(id)", vid) == "stale"
    wait_until(
        page,
        f"the list row of {vid} to say stale",
        "(id) => document.querySelector(`[data-testid=vehicle-list] [data-vehicle-id='${id}']`)"
        "?.dataset.state === 'stale'",
        arg=vid,
        timeout_s=30,
    )


def test_pixels_vehicle_where_it_should_be_and_fallback_basemap(platform, page, map_url):
    vid = f"pix-{new_run()}"
    lon, lat = 2.3522, 48.8566
    open_map(page, map_url)
    wait_until(
        page,
        "the offline fallback basemap (renderer.basemap.fallback)",
        "() => window.__geostream.renderer.basemap.fallback === true",
    )

    # The fallback world basemap is drawn: land and sea differ where they should.
    page.evaluate("() => window.__geostream.renderer.setView({lon: -10, lat: 45, zoom: 3})")
    settle(page)
    land_xy = pixel_of(page, 2.5, 46.5)  # central France
    sea_xy = pixel_of(page, -25.0, 42.0)  # the Atlantic
    land, sea = (region[0] for region in pixels(page, [land_xy, sea_xy]))
    assert distance(land, sea) > 12, f"land {land} and sea {sea} look alike: no basemap drawn"

    # A vehicle is drawn at its position: its pixels change when the live layers are hidden, and
    # pixels far from it do not.
    post_points(platform.ingest_url, {vid: [(lon, lat, int(time.time()))]})
    has_vehicles(page, [vid])
    # Drawn after a pan from far away: only vehicles in or near the view are drawn, so the view
    # first sits ~40 km east of it (a draw without it), then moves onto it.
    page.evaluate(
        "([lon, lat]) => window.__geostream.renderer.setView({lon: lon + 0.55, lat, zoom: 14})", [lon, lat]
    )
    settle(page)
    page.evaluate("([lon, lat]) => window.__geostream.renderer.setView({lon, lat, zoom: 14})", [lon, lat])
    settle(page)
    at = pixel_of(page, lon, lat)
    far = (at[0] + 150, at[1] + 150)
    shown_at, shown_far = pixels(page, [at, far], radius=4)
    page.evaluate("() => window.__geostream.renderer.setMode('history')")
    settle(page)
    hidden_at, hidden_far = pixels(page, [at, far], radius=4)
    page.evaluate("() => window.__geostream.renderer.setMode('live')")
    assert max(distance(a, b) for a, b in zip(shown_at, hidden_at, strict=True)) > 60, "no vehicle there"
    assert max(distance(a, b) for a, b in zip(shown_far, hidden_far, strict=True)) < 8, "drawn where none is"


def test_history_replay_keyboard_and_url(platform, page, map_url, artifacts):
    run = new_run()
    start = int(time.time()) - 3 * 3600
    chosen, other = f"hist-{run}-a", f"hist-{run}-b"
    post_points(
        platform.ingest_url,
        {
            chosen: [(2.2 + k * 0.01, 48.80 + k * 0.005, start + k * 30) for k in range(20)],
            other: [(2.5 - k * 0.01, 48.90, start + 15 + k * 30) for k in range(20)],
        },
    )
    wait_for(
        "trajectories stored", lambda: len(stored_points(platform.database_url, [chosen, other])) == 40, 600
    )

    open_map(page, map_url)
    page.click("[data-testid=mode-history]")
    page.fill("[data-testid=history-start]", iso(start - 60))
    page.fill("[data-testid=history-end]", iso(start + 20 * 30 + 60))
    page.click("[data-testid=history-load]")
    wait_until(
        page,
        "both trips loaded",
        "() => Number(document.querySelector('[data-testid=history-trip-count]').textContent) >= 2",
    )
    page.check(f"[data-testid=history-choices] input[value='{chosen}']")
    assert text(page, "history-trip-count") == "1"

    # Keyboard: step to the next fix, loop off, play.
    page.evaluate("() => document.activeElement.blur()")
    before = float(page.input_value("[data-testid=history-time]"))
    page.keyboard.press("ArrowRight")
    wait_until(
        page,
        "→ to step to the next fix",
        "(before) => Number(document.querySelector('[data-testid=history-time]').value) > before",
        arg=before,
        polling=100,
    )
    page.keyboard.press("l")
    assert page.get_attribute("[data-testid=history-loop]", "aria-pressed") == "false"
    page.keyboard.press("Space")
    assert page.get_attribute("[data-testid=history-play]", "data-playing") == "true"
    stepped = page.input_value("[data-testid=history-time]")
    wait_until(
        page,
        "the replay clock to move while playing",
        "(stepped) => document.querySelector('[data-testid=history-time]').value !== stepped",
        arg=stepped,
        timeout_s=60,
    )
    clock = page.locator("[data-testid=history-clock]")
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", clock.text_content())
    assert re.fullmatch(r"UTC \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", clock.get_attribute("title"))
    settle(page)
    page.screenshot(path=str(artifacts / "history.png"))

    # Reload with the URL: history mode, same window, same vehicle choice, trips loaded again.
    url_shows(page, mode="history", only=chosen, **{"from": iso(start - 60)})
    page.reload()
    wait_for_map(page)
    assert page.get_attribute("[data-testid=mode-history]", "aria-pressed") == "true"
    assert page.input_value("[data-testid=history-start]") == iso(start - 60)
    wait_until(
        page,
        "the chosen trip loaded again after the reload",
        "() => document.querySelector('[data-testid=history-trip-count]').textContent === '1'",
    )
    assert page.is_checked(f"[data-testid=history-choices] input[value='{chosen}']")


def test_phone_layout(platform, playwright, map_url, console, artifacts):
    vid = f"phone-{new_run()}"
    with chromium(playwright, PHONE, is_mobile=True, has_touch=True) as context:
        page = open_page(context, console)
        open_map(page, map_url)
        post_points(platform.ingest_url, {vid: [(2.35, 48.86, int(time.time()))]})
        has_vehicles(page, [vid])
        panel = page.locator("#panel").bounding_box()
        # A bottom sheet: full width, docked to the bottom edge.
        assert panel["x"] == 0 and panel["width"] == PHONE["width"], panel
        assert math.isclose(panel["y"] + panel["height"], PHONE["height"], abs_tol=1), panel

        # A chosen vehicle's details take the bottom of the screen; the folded controls sit on top.
        page.fill("[data-testid=vehicle-search]", vid)
        page.press("[data-testid=vehicle-search]", "Enter")
        details_of(page, vid)
        assert page.get_attribute("#panel", "data-sheet") == "closed"
        details = page.locator("[data-testid=details-panel]").bounding_box()
        assert math.isclose(details["y"] + details["height"], PHONE["height"], abs_tol=1), details
        # The sheet follows the details' height once the page's ResizeObserver has run (before a paint).
        wait_until(
            page,
            "the folded controls right on top of the details",
            """() => {
                 const box = (selector) => document.querySelector(selector).getBoundingClientRect();
                 return Math.abs(box('#panel').bottom - box('[data-testid=details-panel]').top) <= 1;
               }""",
        )
        settle(page)
        page.screenshot(path=str(artifacts / "phone.png"))

        # Unfolding the controls gives them the bottom of the screen; folding them brings the details back.
        page.click("#sheet-toggle")
        assert page.get_attribute("#sheet-toggle", "aria-expanded") == "true"
        assert shown(page, "[data-testid=vehicle-search]")
        assert not shown(page, "[data-testid=details-panel]")
        opened = page.locator("#panel").bounding_box()
        assert math.isclose(opened["y"] + opened["height"], PHONE["height"], abs_tol=1), opened
        page.click("#sheet-toggle")
        assert page.get_attribute("#sheet-toggle", "aria-expanded") == "false"
        assert shown(page, "[data-testid=details-panel]")
