"""es-indexer's sorting of bulk answers: indexed, replayed (409), retried (429/5xx/no answer), rejected."""

from __future__ import annotations

from es_indexer.outcomes import classify, item_reason


def answer(doc_id: str, status: int, error: dict | None = None) -> tuple[bool, dict]:
    item = {"_id": doc_id, "status": status}
    if error is not None:
        item["error"] = error
    return 200 <= status < 300, {"create": item}


MAPPING_ERROR = {
    "type": "mapper_parsing_exception",
    "reason": "failed to parse field [temperature] of type [float]",
    "caused_by": {"type": "illegal_argument_exception", "reason": "[float] supports only finite values"},
}


def test_each_position_gets_exactly_one_outcome():
    positions = {"a": [0], "b": [1], "c": [2], "d": [3], "e": [4], "f": [5]}
    results = [
        answer("a", 201),
        answer("b", 409, {"type": "version_conflict_engine_exception", "reason": "document already exists"}),
        answer("c", 429, {"type": "es_rejected_execution_exception", "reason": "queue full"}),
        answer("d", 503, {"type": "unavailable_shards_exception", "reason": "primary shard is not active"}),
        answer("e", 400, MAPPING_ERROR),
    ]  # "f" got no answer at all
    outcome = classify(results, positions)
    assert outcome.indexed == [0]
    assert outcome.duplicates == [1]
    assert sorted(outcome.retry) == [2, 3, 5]
    assert outcome.rejected == [
        (
            4,
            "400 mapper_parsing_exception: failed to parse field [temperature] of type [float]"
            " (caused by illegal_argument_exception: [float] supports only finite values)",
        )
    ]


def test_a_record_repeated_in_one_batch_is_indexed_once_then_a_duplicate():
    outcome = classify([answer("a", 201), answer("a", 409, {"type": "x", "reason": "y"})], {"a": [0, 1]})
    assert outcome.indexed == [0]
    assert outcome.duplicates == [1]


def test_a_whole_request_failure_as_the_helper_reports_it_is_retried():
    # raise_on_exception=False: every item of a failed request carries the request's status and message
    results = [(False, {"create": {"_id": "a", "status": 502, "error": "ApiError(502, 'bad gateway')"}})]
    outcome = classify(results, {"a": [0]})
    assert outcome.retry == [0]
    assert item_reason(results[0][1]["create"]) == "502 ApiError(502, 'bad gateway')"
