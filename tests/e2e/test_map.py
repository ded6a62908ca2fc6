"""The map in a real browser (Debian Chromium, headless): live vehicles arrive through the whole pipeline,
and history mode replays a stored trajectory. Screenshots of both modes are saved under artifacts/e2e/."""

from __future__ import annotations

import tempfile
import time
import uuid
from datetime import UTC, datetime

import pytest
from pipeline import post_points, stored_points, wait_for

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
]  # fmt: skip


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            tempfile.mkdtemp(prefix="geostream-chromium-"),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 800},
        )
        page = context.new_page()
        page.set_default_timeout(60_000)
        yield page
        context.close()


def iso(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat().replace("+00:00", "Z")


def test_live_vehicles_appear_on_the_map(platform, page, artifacts):
    page.goto(platform.frontend_url)
    page.wait_for_function("document.querySelector('[data-testid=connection-state]').textContent === 'open'")
    run = uuid.uuid4().hex[:6]
    now = int(time.time())
    vehicles = {
        f"map-{run}-{i}": [
            (2.30 + i * 0.02 + k * 0.002, 48.84 + i * 0.01, now - 20 + k * 5) for k in range(4)
        ]
        for i in range(3)
    }
    post_points(platform.ingest_url, vehicles)
    selector = " && ".join(f"document.querySelector('[data-vehicle-id=\"{v}\"]')" for v in vehicles)
    page.wait_for_function(selector, timeout=180_000, polling=250)
    count = int(page.text_content("[data-testid=vehicle-count]"))
    assert count >= 3
    page.click("[data-testid=fit-vehicles]")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(artifacts / "live.png"), timeout=60_000)


def test_history_mode_replays_a_stored_trajectory(platform, page, artifacts):
    run = uuid.uuid4().hex[:6]
    start = int(time.time()) - 3 * 3600
    vehicle = f"hist-{run}"
    post_points(
        platform.ingest_url,
        {vehicle: [(2.2 + k * 0.01, 48.80 + k * 0.005, start + k * 30) for k in range(20)]},
    )
    wait_for("trajectory stored", lambda: len(stored_points(platform.database_url, [vehicle])) == 20, 180)

    page.goto(platform.frontend_url)
    page.click("[data-testid=mode-history]")
    page.fill("[data-testid=history-start]", iso(start - 60))
    page.fill("[data-testid=history-end]", iso(start + 20 * 30 + 60))
    page.click("[data-testid=history-load]")
    page.wait_for_function(
        "Number(document.querySelector('[data-testid=history-trip-count]').textContent) >= 1", polling=250
    )
    page.click("[data-testid=history-play]")
    first = page.input_value("[data-testid=history-time]")
    page.wait_for_function(
        f"document.querySelector('[data-testid=history-time]').value !== '{first}'",
        polling=250,
        timeout=30_000,
    )
    page.screenshot(path=str(artifacts / "history.png"), timeout=60_000)
