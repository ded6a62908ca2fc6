"""config.json from the environment: serve.py (make local) and the image's entrypoint.sh (compose) agree."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from support.processes import ROOT

sys.path.insert(0, str(ROOT / "frontend"))
from serve import runtime_config

ENV = {
    "WS_URL": 'ws://localhost:8082/"quoted"',
    "API_URL": "http://localhost:8083",
    "BASEMAP": "https://tiles.example/{z}/{x}/{y}.png",
    "LIVE_WINDOW_SECONDS": "600",
    "STALE_SECONDS": "45",
    "OFFLINE_SECONDS": "300",
}


def entrypoint_config(env: dict[str, str], tmp_path) -> tuple[int, dict | None]:
    config_file = tmp_path / "config.json"
    done = subprocess.run(
        ["sh", str(ROOT / "frontend/docker/entrypoint.sh"), "true"],
        env={"PATH": os.environ["PATH"], "GEOSTREAM_CONFIG_FILE": str(config_file), **env},
        capture_output=True,
        check=False,
    )
    return done.returncode, json.loads(config_file.read_text()) if done.returncode == 0 else None


def test_both_write_the_same_config(tmp_path):
    expected = {
        "wsUrl": ENV["WS_URL"],
        "apiUrl": ENV["API_URL"],
        "basemap": ENV["BASEMAP"],
        "liveWindowSeconds": 600,
        "staleSeconds": 45,
        "offlineSeconds": 300,
    }
    assert runtime_config(ENV) == expected
    assert entrypoint_config(ENV, tmp_path) == (0, expected)


def test_unset_and_empty_values_are_left_to_the_page(tmp_path):
    assert runtime_config({"BASEMAP": " ", "STALE_SECONDS": ""}) == {}
    assert entrypoint_config({"BASEMAP": "", "STALE_SECONDS": ""}, tmp_path) == (0, {})


@pytest.mark.parametrize("name", ["LIVE_WINDOW_SECONDS", "STALE_SECONDS", "OFFLINE_SECONDS"])
def test_a_bad_number_of_seconds_stops_both(name, tmp_path):
    with pytest.raises(SystemExit, match=name):
        runtime_config({name: "-5"})
    assert entrypoint_config({name: "5s"}, tmp_path) == (64, None)
