import orjson
from hypothesis import given
from hypothesis import strategies as st

from geostream.kafka import encode_many

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
NASTY = st.sampled_from(['},{"vehicle_id":', '"', "\\", '\\"}', "{", "}", ",", '":"', "\n", "é"])
POINT = st.fixed_dictionaries(
    {
        "vehicle_id": st.one_of(TEXT, st.lists(st.one_of(TEXT, NASTY), max_size=4).map("".join)),
        "ts": st.integers(min_value=0, max_value=2**53),
        "lon": st.floats(min_value=-180, max_value=180),
        "lat": st.floats(min_value=-90, max_value=90),
    },
    optional={"speed": st.floats(min_value=0, max_value=100), "source": st.sampled_from(["http", "mqtt"])},
)


@given(st.lists(POINT, max_size=30))
def test_encode_many_is_one_dumps_per_message(points):
    assert encode_many(points) == [orjson.dumps(p) for p in points]


@given(
    st.lists(
        st.dictionaries(TEXT, st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=3), max_size=10
    )
)
def test_messages_with_different_first_keys_fall_back(messages):
    assert encode_many(messages) == [orjson.dumps(m) for m in messages]
