import pytest
from hypothesis import given
from hypothesis import strategies as st

from geostream import contracts
from geostream.identity import IdentityError, normalize_vehicle_id
from geostream.locations import BatchError, PointError, make_point, parse_batch

NOW = 1_760_000_000_000
LON = st.floats(min_value=-180, max_value=180, allow_nan=False)
LAT = st.floats(min_value=-90, max_value=90, allow_nan=False)
SECONDS = st.integers(min_value=946_684_800, max_value=NOW // 1000)


def usable_id(text: str) -> bool:
    try:
        normalize_vehicle_id(text)
    except IdentityError:
        return False
    return True


VEHICLE = st.text(min_size=1, max_size=20).filter(usable_id)


def parse(items, **kw):
    return parse_batch(items, now_ms=NOW, max_points=kw.pop("max_points", 1000), **kw)


def fields(exc: BatchError) -> list[str]:
    return [e.field for e in exc.errors]


def test_prototype_example():
    batch = parse(
        [
            {
                "vehicleID": "plane-001",
                "path": [[1.1543, 56.74], [1.1643, 56.84]],
                "timestamps": [1693564800, 1693568400],
            }
        ]
    )
    assert batch.points == [
        {"vehicle_id": "plane-001", "ts": 1693564800000, "lon": 1.1543, "lat": 56.74, "source": "http"},
        {"vehicle_id": "plane-001", "ts": 1693568400000, "lon": 1.1643, "lat": 56.84, "source": "http"},
    ]


@given(
    st.lists(
        st.tuples(VEHICLE, st.lists(st.tuples(LON, LAT, SECONDS), min_size=1, max_size=8)),
        min_size=1,
        max_size=5,
    )
)
def test_valid_batches_give_contract_points_in_order(vehicles):
    items = [
        {"vehicleID": v, "path": [[lo, la] for lo, la, _ in pts], "timestamps": [t for *_, t in pts]}
        for v, pts in vehicles
    ]
    batch = parse(items)
    expected = []
    seen = set()
    for v, pts in vehicles:
        for lo, la, t in pts:
            vid = normalize_vehicle_id(v)
            if (vid, t * 1000) not in seen:
                seen.add((vid, t * 1000))
                expected.append((vid, t * 1000, lo, la))
    assert [(p["vehicle_id"], p["ts"], p["lon"], p["lat"]) for p in batch.points] == expected
    assert batch.duplicates == sum(len(p) for _, p in vehicles) - len(expected)
    for point in batch.points:
        contracts.check("locations_topic", point)


@given(st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not -90 <= x <= 90))
def test_any_latitude_out_of_range_is_refused_with_its_field(lat):
    with pytest.raises(BatchError) as info:
        parse([{"vehicleID": "a", "path": [[0, 0], [0, lat]], "timestamps": [1e9, 1e9 + 1]}])
    assert fields(info.value) == ["[0].path[1][1]"]


@given(
    st.one_of(st.none(), st.booleans(), st.text(), st.dictionaries(st.text(), st.integers()), st.integers())
)
def test_non_list_bodies_are_refused(body):
    with pytest.raises(BatchError):
        parse(body)


def test_all_errors_are_reported_with_index_and_field():
    with pytest.raises(BatchError) as info:
        parse(
            [
                {"vehicleID": "ok", "path": [[1, 2]], "timestamps": [1e9]},
                {"vehicleID": "", "path": [[1, 2]], "timestamps": [1e9]},
                {"vehicleID": "b", "path": [[1, 2], [3, 4]], "timestamps": [1e9]},
                {"vehicleID": "c", "path": [[200, 2]], "timestamps": ["soon"]},
            ]
        )
    assert fields(info.value) == ["[1].vehicleID", "[2]", "[3].path[0][0]"]


def test_too_many_points():
    with pytest.raises(BatchError, match="limit is 3"):
        parse(
            [{"vehicleID": "a", "path": [[0, 0]] * 4, "timestamps": [1e9 + i for i in range(4)]}],
            max_points=3,
        )


def test_future_points_are_refused():
    with pytest.raises(BatchError, match="future"):
        parse([{"vehicleID": "a", "path": [[0, 0]], "timestamps": [NOW // 1000 + 2 * 86400]}])


def test_altitude_third_value_and_alias_and_unknown_fields():
    batch = parse(
        [
            {
                "vehicle_id": "a",
                "path": [[1, 2, 350.5]],
                "timestamps": ["2023-09-01T10:40:00Z"],
                "colour": "red",
            }
        ]
    )
    assert batch.points == [
        {"vehicle_id": "a", "ts": 1693564800000, "lon": 1.0, "lat": 2.0, "alt": 350.5, "source": "http"}
    ]


def test_make_point_optional_fields():
    point = make_point("v", 10**12, 1, 2, source="mqtt", now_ms=NOW, speed=3, heading=None, battery=50)
    assert point == {
        "vehicle_id": "v",
        "ts": 1_000_000_000_000,
        "lon": 1.0,
        "lat": 2.0,
        "speed": 3.0,
        "battery": 50.0,
        "source": "mqtt",
    }
    with pytest.raises(PointError, match="heading"):
        make_point("v", 10**12, 1, 2, source="mqtt", now_ms=NOW, heading=400)
    with pytest.raises(PointError, match="source"):
        make_point("v", 10**12, 1, 2, source="carrier-pigeon", now_ms=NOW)


def test_make_point_takes_milliseconds_and_never_detects_a_unit_again():
    """The mapper decided the unit: 5e10 ms (1971) stays 1971 (and is refused by the floor), it does
    not become 5e13 ms (3554) the way a second magnitude test would read it."""
    with pytest.raises(PointError, match="floor"):
        make_point("v", 50_000_000_000, 1, 2, source="mqtt", now_ms=NOW)
    point = make_point("v", 50_000_000_000, 1, 2, source="mqtt", now_ms=NOW, min_ts_ms=0)
    assert point["ts"] == 50_000_000_000
    with pytest.raises(PointError, match="integer epoch milliseconds"):
        make_point("v", 1.7e12, 1, 2, source="mqtt", now_ms=NOW)
