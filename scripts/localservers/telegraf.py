"""A real Telegraf, built by scripts/install-telegraf.sh from the Go module proxy with only the project's
plugins (a config naming any other plugin fails to load, here as in the check below).

- :func:`telegraf_binary`: where that binary is;
- :func:`check_config`: ``telegraf config check``, which loads a config and initialises its plugins
  without starting them (unknown plugins, bad options, unparsable TOML);
- :func:`run_once`: ``telegraf --once`` (one gather, one flush) for inputs that are polled;
- :class:`TelegrafProcess`: runs one config until :meth:`TelegrafProcess.stop`, which sends SIGTERM:
  Telegraf then stops its inputs and flushes every output before it exits.

Telegraf substitutes ``${NAME}`` from its environment; since 1.38 it does so strictly (string values only),
so the check runs with ``--strict-env-handling`` as well.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from localservers import cache_dir, stop_process

# Printed by the agent once the config is loaded and it begins to run (outputs connect right after).
AGENT_RUNNING_MARK = "[agent] Config:"


class TelegrafConfigError(RuntimeError):
    """Telegraf refused a configuration; the message is its own output."""


def telegraf_binary() -> str:
    """``$TELEGRAF_BIN``, else the cached build (``$GEOSTREAM_CACHE/bin/telegraf``), else PATH."""
    if found := os.environ.get("TELEGRAF_BIN"):
        return found
    cached = cache_dir() / "bin" / "telegraf"
    if os.access(cached, os.X_OK):
        return str(cached)
    if found := shutil.which("telegraf"):
        return found
    raise FileNotFoundError(f"telegraf not found at {cached} nor on PATH: run scripts/install-telegraf.sh")


def telegraf_version(binary: str | None = None) -> str:
    """``Telegraf 1.39.3`` for the pinned build."""
    done = subprocess.run(
        [binary or telegraf_binary(), "--version"], capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout.strip()


def _environment(env: Mapping[str, str] | None) -> dict[str, str]:
    return {**os.environ, **(env or {})}


def check_config(config_path: Path | str, env: Mapping[str, str] | None = None) -> str:
    """Load ``config_path`` and initialise its plugins without starting them; returns Telegraf's output.

    Raises :class:`TelegrafConfigError` when Telegraf rejects it.
    """
    done = subprocess.run(
        [telegraf_binary(), "config", "check", "--strict-env-handling", "--config", str(config_path)],
        env=_environment(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise TelegrafConfigError(output.strip())
    return output


def run_once(config_path: Path | str, env: Mapping[str, str] | None = None, timeout: float = 120) -> str:
    """``telegraf --once``: one gather of every input, one flush of every output, then exit; returns
    what the outputs wrote to stdout. Raises :class:`TelegrafConfigError` with the log when it fails."""
    done = subprocess.run(
        [telegraf_binary(), "--once", "--config", str(config_path)],
        env=_environment(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise TelegrafConfigError(done.stderr.strip())
    return done.stdout


class TelegrafProcess:
    """``telegraf --config CONFIG`` in ``workdir`` (its log: ``workdir/telegraf.log``).

    With ``health_url`` (an ``outputs.health`` address of the config), :meth:`start` returns once that
    answers 200, i.e. the outputs are connected; without it, once the agent logs that it runs.
    """

    def __init__(
        self,
        config_path: Path | str,
        env: Mapping[str, str] | None = None,
        workdir: Path | str | None = None,
        health_url: str | None = None,
    ):
        self.config_path = Path(config_path)
        self.env = dict(env or {})
        self.workdir = Path(workdir) if workdir is not None else self.config_path.parent
        self.health_url = health_url
        self.log_path = self.workdir / "telegraf.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> TelegrafProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 (kept open for the child's lifetime)
        self.process = subprocess.Popen(
            [telegraf_binary(), "--config", str(self.config_path)],
            cwd=self.workdir,
            env=_environment(self.env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"telegraf exited with code {self.process.returncode} while starting:\n{self.log()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"telegraf not ready after {timeout:.0f} s:\n{self.log()}")
            time.sleep(0.1)
        return self

    def _ready(self) -> bool:
        if self.health_url is None:
            return AGENT_RUNNING_MARK in self.log()
        try:
            with urllib.request.urlopen(self.health_url, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM (Telegraf flushes its outputs first); returns the exit code."""
        process, self.process = self.process, None
        if process is None:
            return None
        stop_process(process, timeout)
        return process.returncode

    def __enter__(self) -> TelegrafProcess:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
