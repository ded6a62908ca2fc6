"""What Grafana does to an InfluxQL panel query before sending it, so the tests can run the same query.

Grafana cannot run on these machines; these substitutions follow its InfluxQL datasource: ``$timeFilter``
becomes a time condition for the dashboard's range, ``$__interval`` the group-by interval, and a
multi-value variable inside a regex becomes ``(a|b)`` of regex-escaped values (``.*`` for All).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
PROVISIONING = ROOT / "grafana-provisioning"
BUILTINS = {"timeFilter", "__interval", "__interval_ms", "__timeFilter"}
VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)(?::\w+)?\}")


def dashboards() -> dict[str, dict[str, Any]]:
    import json

    return {
        p.stem: json.loads(p.read_text()) for p in sorted((PROVISIONING / "dashboards/json").glob("*.json"))
    }


def datasources() -> list[dict[str, Any]]:
    return yaml.safe_load((PROVISIONING / "datasources/influxdb.yaml").read_text())["datasources"]


def alert_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load((PROVISIONING / "alerting/rules.yaml").read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def panel_targets(dashboard: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel, target


def variables_used(text: str) -> set[str]:
    return {a or b for a, b in VARIABLE.findall(text)}


def regex_value(values: list[str]) -> str:
    if values == ["$__all"]:
        return ".*"
    escaped = [re.sub(r"([\\/^$.|?*+()\[\]{}])", r"\\\1", v) for v in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def render(
    query: str, variables: Mapping[str, list[str] | str], time_range: str = "1h", interval: str = "1m"
) -> str:
    """The query as Grafana sends it for a "last ``time_range``" dashboard with these variable values."""
    out = query.replace("$timeFilter", f"time >= now() - {time_range}").replace("$__interval", interval)
    for name, value in variables.items():
        text = regex_value(value) if isinstance(value, list) else value
        out = out.replace(f"${{{name}}}", text).replace(f"${name}", text)
    return out
