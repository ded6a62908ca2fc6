from ws_relay.access import AccessPolicy, ConnectionsPerAddress, query_token, subprotocol_token


def test_tokens_from_url_and_subprotocol():
    assert query_token("/?token=abc&bbox=1,2,3,4") == "abc"
    assert query_token("/") is None
    assert subprotocol_token(["chat", "bearer.xyz"]) == ("bearer.xyz", "xyz")
    assert subprotocol_token(["bearer."]) is None


def test_policy():
    policy = AccessPolicy(("t1",), ("http://map",))
    assert policy.allows([None, "t1"], None)
    assert policy.allows([None, None], "http://map")
    assert not policy.allows(["t2", None], "http://evil")
    assert AccessPolicy((), ()).allows([None], None)


def test_connections_per_address():
    limit = ConnectionsPerAddress(2)
    limit.opened("a")
    assert not limit.full("a")
    limit.opened("a")
    assert limit.full("a") and not limit.full("b")
    limit.closed("a")
    limit.closed("a")
    assert limit.open == {}
    assert not ConnectionsPerAddress(0).full("a")
