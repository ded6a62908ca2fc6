"""JSON type names for error messages: what a client sent, in the words of its own language."""

from __future__ import annotations


def json_type(value: object) -> str:
    """``null``, ``boolean``, ``number``, ``string``, ``array``, ``object``, else the Python type's name."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return {list: "array", dict: "object"}.get(type(value), type(value).__name__)
