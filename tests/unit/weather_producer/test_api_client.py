"""The API client's limits: budget per UTC day, 429 with Retry-After, failures -> back-off; the producer
simulates instead and never crashes. Runs against the labelled Visual Crossing stand-in (loopback)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.visual_crossing_standin import Reply, VisualCrossingStandIn

from weather_producer.api_client import ApiUnavailableError, VisualCrossingClient

RECORDED = (Path(__file__).parent / "responses" / "paris_metric.json").read_bytes()


class Clock:
    def __init__(self, now: float = 1_758_895_500.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def client(standin: VisualCrossingStandIn, clock: Clock, **kw) -> VisualCrossingClient:
    return VisualCrossingClient("test-key", base_url=standin.base_url, clock=clock, timeout_s=1.0, **kw)


def test_request_shape_and_budget_spent_by_query_cost():
    clock = Clock()
    with VisualCrossingStandIn([Reply(body=RECORDED)] * 3) as api:
        vc = client(api, clock, daily_budget=4)
        assert vc.fetch("New York,US")["queryCost"] == 2
        vc.fetch("Paris,FR")
        with pytest.raises(ApiUnavailableError, match="budget"):
            vc.fetch("Paris,FR")
        clock.now += 86_400  # the next UTC day
        vc.fetch("Paris,FR")
    first = api.requests[0]
    assert first["path"].endswith(f"/New%20York,US/{int(Clock().now)}/{int(Clock().now) + 3600}")
    assert first["query"]["unitGroup"] == ["metric"]
    assert first["query"]["include"] == ["current,hours"]
    assert first["query"]["key"] == ["test-key"]


def test_429_honours_retry_after_then_recovers():
    clock = Clock()
    with VisualCrossingStandIn([Reply(429, b"", {"Retry-After": "300"}), Reply(body=RECORDED)]) as api:
        vc = client(api, clock, backoff_initial_s=10)
        with pytest.raises(ApiUnavailableError, match="429"):
            vc.fetch("Paris,FR")
        clock.now += 200
        with pytest.raises(ApiUnavailableError, match="backing off"):
            vc.fetch("Paris,FR")
        assert len(api.requests) == 1
        clock.now += 101
        assert vc.fetch("Paris,FR")["address"] == "Paris,FR"


@pytest.mark.parametrize(
    "reply",
    [
        Reply(500),
        Reply(200, b"<html>maintenance</html>"),
        Reply(200, b"[1, 2]"),
        Reply(200, RECORDED, delay_s=2),
    ],
    ids=["http-500", "not-json", "not-an-object", "timeout"],
)
def test_failures_back_off_exponentially(reply):
    clock = Clock()
    with VisualCrossingStandIn([reply, Reply(500)]) as api:
        vc = client(api, clock, backoff_initial_s=10)
        with pytest.raises(ApiUnavailableError):
            vc.fetch("Paris,FR")
        clock.now += 11
        with pytest.raises(ApiUnavailableError):
            vc.fetch("Paris,FR")
        clock.now += 11  # second failure doubled the wait to 20 s
        with pytest.raises(ApiUnavailableError, match="backing off"):
            vc.fetch("Paris,FR")


def test_no_key_means_no_request():
    with pytest.raises(ApiUnavailableError, match="VISUAL_CROSSING_API_KEY"):
        VisualCrossingClient("").fetch("Paris,FR")
