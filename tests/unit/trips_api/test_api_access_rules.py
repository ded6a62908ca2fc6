import pytest

from geostream.access import bearer_token, parse_list
from trips_api.access import AccessPolicy, RateLimiter, retry_after


@pytest.mark.parametrize(
    ("header", "token"),
    [("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("Basic abc", None), ("Bearer", None), (None, None)],
)
def test_bearer_token(header, token):
    assert bearer_token(header) == token


def test_policy_tokens_origins_and_open():
    policy = AccessPolicy(parse_list("t1, t2,,"), parse_list("http://map"))
    assert policy.decide("t2", None) is None
    assert policy.decide(None, "http://map") is None
    assert policy.decide("nope", None) == "invalid token"
    assert "required" in policy.decide(None, "http://evil")
    assert AccessPolicy((), ()).decide(None, None) is None


def test_rate_limiter_bucket_per_address_refills_and_is_bounded():
    now = [0.0]
    limiter = RateLimiter(rate=1.0, burst=2, max_clients=2, clock=lambda: now[0])
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 1.0]
    assert limiter.acquire("b") == 0.0  # another address has its own bucket
    now[0] = 1.0
    assert limiter.acquire("a") == 0.0  # one token back after a second
    limiter.acquire("c")
    assert len(limiter._buckets) == 2  # the least recently seen address was forgotten
    assert retry_after(0.2) == "1" and retry_after(2.5) == "3"
    assert RateLimiter(rate=0, burst=1).acquire("a") == 0.0
