"""Sorting the per-document answers of a bulk request: done, retry later, or dead-letter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


@dataclass
class BulkOutcome:
    indexed: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    """Already indexed (409 on ``create``): a replay, not an error."""
    retry: list[int] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    """(position, the engine's reason): the document itself is refused (mapping error, ...)."""


def item_reason(item: dict[str, Any]) -> str:
    """The engine's reason for a failed bulk item: ``status type: reason [caused by]``."""
    error = item.get("error")
    status = item.get("status")
    if isinstance(error, dict):
        text = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        caused = error.get("caused_by")
        if isinstance(caused, dict):
            text += f" (caused by {caused.get('type', '')}: {caused.get('reason', '')})"
    else:
        text = str(error)
    return f"{status} {text}"[:1000]


def classify(results: list[tuple[bool, dict[str, Any]]], positions: dict[str, list[int]]) -> BulkOutcome:
    """``streaming_bulk`` results -> outcome by position in the batch.

    ``positions`` maps each action's ``_id`` to its positions (a record repeated within one batch has the
    same id twice; its second copy answers 409 and counts as a duplicate). Positions that got no answer
    at all are left for the caller to retry.
    """
    outcome = BulkOutcome()
    pending = {doc_id: list(pos) for doc_id, pos in positions.items()}
    for ok, result in results:
        _op, item = next(iter(result.items()))
        queue = pending.get(item.get("_id"))
        if not queue:
            continue
        position = queue.pop(0)
        status = item.get("status", 0)
        if ok:
            outcome.indexed.append(position)
        elif status == 409:
            outcome.duplicates.append(position)
        elif status in RETRYABLE_STATUS or not status:
            outcome.retry.append(position)
        else:
            outcome.rejected.append((position, item_reason(item)))
    for queue in pending.values():
        outcome.retry.extend(queue)
    return outcome
