"""One JSON Schema per topic (``schemas/<topic>.schema.json``): the single source of truth.

Producers call :func:`check` before sending, consumers when reading, tests on everything. The fast path
is a compiled validator (fastjsonschema, a few microseconds per message); only a failing message is run
through jsonschema to list every problem as ``field path: reason``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema
import jsonschema

SCHEMA_DIR = resources.files(__package__) / "schemas"


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}" if self.field else self.reason

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


class ContractError(ValueError):
    """A message does not match its topic's schema."""

    def __init__(self, topic: str, errors: list[FieldError]):
        self.topic = topic
        self.errors = errors
        super().__init__(f"{topic}: " + "; ".join(map(str, errors)))


def topics_with_schema() -> list[str]:
    return sorted(
        p.name.removesuffix(".schema.json") for p in SCHEMA_DIR.iterdir() if p.name.endswith(".json")
    )


@cache
def schema(topic: str) -> dict[str, Any]:
    path = SCHEMA_DIR / f"{topic}.schema.json"
    if not path.is_file():
        raise KeyError(f"no schema for topic {topic!r}")
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _fast_validator(topic: str) -> Callable[[Any], Any]:
    return fastjsonschema.compile(schema(topic))


@cache
def _explaining_validator(topic: str) -> jsonschema.protocols.Validator:
    doc = schema(topic)
    cls = jsonschema.validators.validator_for(doc)
    cls.check_schema(doc)
    return cls(doc)


def field_path(parts: Any) -> str:
    """``["path", 1, 0]`` -> ``path[1][0]``; ``["origin", "lat"]`` -> ``origin.lat``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def errors(topic: str, message: Any) -> list[FieldError]:
    """Every reason ``message`` breaks the contract of ``topic``; empty when it conforms."""
    found = sorted(_explaining_validator(topic).iter_errors(message), key=lambda e: list(map(str, e.path)))
    return [FieldError(field_path(e.absolute_path), e.message) for e in found]


def is_valid(topic: str, message: Any) -> bool:
    try:
        _fast_validator(topic)(message)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def check(topic: str, message: Any) -> None:
    """Raise :class:`ContractError` listing every problem when ``message`` breaks the contract."""
    if not is_valid(topic, message):
        raise ContractError(topic, errors(topic, message) or [FieldError("", "does not match the schema")])
