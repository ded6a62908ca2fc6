"""docker-compose.yml and the Dockerfiles, checked statically (no Docker engine needed).

The compose file must load in docker-compose 1.29 and validate against the current Compose JSON Schema
(shipped in the npm package dclint); the structural rules below are the project's own.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from geostream.topics import BY_NAME

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
CACHE = Path(os.environ.get("GEOSTREAM_CACHE", "/var/cache/geostream"))
VENV_BIN = Path(os.sys.executable).parent
DOCKERFILES = sorted(p for p in ROOT.glob("**/Dockerfile*") if "node_modules" not in p.parts)
# The project's images; tests/compose/ holds stand-ins for upstream base images, which run as root like those.
PROJECT_DOCKERFILES = [p for p in DOCKERFILES if p.relative_to(ROOT).parts[0] in {"services", "frontend"}]
NO_ENGINE = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def compose_config(*args: str, env_file: Path | None = ROOT / ".env.example") -> subprocess.CompletedProcess:
    cmd = ["docker-compose", "-f", str(COMPOSE)]
    if env_file is not None:
        cmd += ["--env-file", str(env_file)]
    return subprocess.run(
        [*cmd, "config", *args], capture_output=True, text=True, check=False, env=NO_ENGINE, cwd=ROOT
    )


def test_docker_compose_1_29_accepts_the_file():
    version = subprocess.run(
        ["docker-compose", "version", "--short"], capture_output=True, text=True, check=False, env=NO_ENGINE
    )
    assert version.stdout.startswith("1.29"), version.stdout
    result = compose_config("-q")
    assert result.returncode == 0, result.stderr


def test_missing_secret_is_a_clear_error(tmp_path):
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = compose_config("-q", env_file=empty)
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def test_current_compose_json_schema():
    schema = CACHE / "npm-tools/node_modules/dclint/schemas/compose.schema.json"
    assert schema.is_file(), "run scripts/install-deps.sh (installs dclint's Compose schema)"
    result = subprocess.run(
        [str(VENV_BIN / "check-jsonschema"), "--schemafile", str(schema), str(COMPOSE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_keys_that_docker_compose_1_29_rejects(compose):
    assert "name" not in compose
    assert "start_interval" not in COMPOSE.read_text()
    for service in compose["services"].values():
        for dep in (service.get("depends_on") or {}).values():
            assert "restart" not in dep


def test_every_service_is_bounded_health_checked_and_gated(compose):
    for name, service in compose["services"].items():
        assert "mem_limit" in service, f"{name} has no memory limit"
        one_shot = service.get("restart") == "no"
        built = "build" in service
        has_check = "healthcheck" in service and not service["healthcheck"].get("disable")
        assert one_shot or has_check or built, f"{name} has no health check (compose or Dockerfile)"
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on must use conditions"
        for dep, spec in depends.items():
            assert dep in compose["services"], f"{name} depends on unknown {dep}"
            assert spec.get("condition") in {
                "service_healthy",
                "service_completed_successfully",
                "service_started",
            }


def test_external_images_are_pinned(compose):
    for name, service in compose["services"].items():
        if "build" in service:
            continue
        image = service["image"]
        tag = re.sub(r"\$\{[A-Z_]+:-([^}]+)\}", r"\1", image).rsplit(":", 1)
        assert len(tag) == 2 and tag[1] not in {"latest", ""}, f"{name}: image {image} is not pinned"


def test_data_lives_in_named_volumes_and_binds_are_read_only_config(compose):
    named = set(compose.get("volumes", {}))
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert volume.endswith(":ro"), f"{name}: bind mount {volume} must be read-only"
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"
            else:
                assert source in named, f"{name}: volume {source} is not declared"


def test_topics_named_in_compose_exist(compose):
    for name, service in compose["services"].items():
        env = service.get("environment") or {}
        for key, value in env.items():
            if key.endswith("_TOPIC") or key.endswith("_DLQ_TOPIC"):
                assert str(value) in BY_NAME, f"{name}: {key}={value} is not a platform topic"


def test_default_ports(compose):
    published = {}
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            host, _container = re.sub(r"\$\{[A-Z_]+:-([^}]+)\}", r"\1", str(port)).split(":")[-2:]
            published[name] = int(host)
    expected = {"http-ingest": 5000, "kafka": 9092, "mosquitto": 1883, "mobilitydb": 5432}
    optional = {"ws-relay": 8082, "flink-jobmanager": 8081}
    for name, port in {**expected, **{k: v for k, v in optional.items() if k in published}}.items():
        assert published.get(name) == port, f"{name} should publish {port}"


def test_secrets_are_not_committed():
    tracked = subprocess.run(
        ["git", "ls-files"], capture_output=True, text=True, check=False, cwd=ROOT
    ).stdout.split()
    assert ".env" not in tracked
    assert ".env.example" in (p.name for p in ROOT.iterdir())
    assert ".env" in (ROOT / ".gitignore").read_text().split()


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_dockerfile_passes_hadolint(dockerfile):
    result = subprocess.run(
        [str(VENV_BIN / "hadolint"), str(dockerfile)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", PROJECT_DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_project_images_run_as_non_root_from_pinned_bases(dockerfile):
    text = dockerfile.read_text()
    final_stage = text.split("\nFROM ")[-1]
    users = re.findall(r"^USER\s+(\S+)", final_stage, re.M)
    assert users and users[-1] not in {"root", "0"}, f"{dockerfile}: final stage must run as a non-root user"
    for image in re.findall(r"^FROM\s+(\S+)", text, re.M):
        assert (":" in image and not image.endswith(":latest")) or image in re.findall(r"AS\s+(\S+)", text), (
            image
        )
