"""OpenAPI 3.1 description of trips-api, served at ``GET /openapi.json``."""

_TIME = {
    "schema": {"type": "string"},
    "description": "ISO 8601 date-time or epoch (s, ms, us or ns, told apart by magnitude)",
}
_START = {"name": "start", "in": "query", **_TIME}
_END = {"name": "end", "in": "query", **_TIME}
_BBOX = {
    "name": "bbox",
    "in": "query",
    "schema": {"type": "string", "examples": ["2.2,48.8,2.5,48.95"]},
    "description": "minLon,minLat,maxLon,maxLat (WGS 84)",
}
_POLYGON = {
    "name": "polygon",
    "in": "query",
    "schema": {"type": "string"},
    "description": "a GeoJSON Polygon in lon/lat, instead of bbox",
}
_LIMIT = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}
_OFFSET = {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}}
_ID = {"name": "vehicle_id", "in": "path", "required": True, "schema": {"type": "string"}}
_TRIP = {
    "type": "object",
    "properties": {
        "vehicle_id": {"type": "string"},
        "start": {"type": "integer", "description": "epoch ms"},
        "end": {"type": "integer", "description": "epoch ms"},
        "path": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
        "timestamps": {
            "type": "array",
            "items": {"type": "integer"},
            "description": "epoch ms, one per position",
        },
    },
}
_ERROR = {"description": "invalid parameter: the body names each field and reason"}
_DEVICE = {"name": "device_id", "in": "path", "required": True, "schema": {"type": "string"}}
_DURATION = {
    "schema": {"type": "string", "pattern": "^[0-9]+[smhd]$", "examples": ["5m"]},
    "description": "a whole number of s, m, h or d",
}
_DEVICE_STATUS = {
    "type": "object",
    "properties": {
        "device_id": {"type": "string"},
        "status": {"enum": ["online", "offline"]},
        "last_seen": {"type": "integer", "description": "epoch ms of the newest point"},
        "age_s": {"type": "number", "description": "seconds since last_seen"},
        "lon": {"type": "number"},
        "lat": {"type": "number"},
        "speed": {"type": ["number", "null"], "description": "m/s"},
        "heading": {"type": ["number", "null"]},
    },
}


def _get(summary: str, parameters: list, body: dict) -> dict:
    return {
        "get": {
            "summary": summary,
            "parameters": parameters,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": body}}},
                "400": _ERROR,
                "503": {"description": "database unavailable or query too slow"},
            },
        }
    }


_PAGE = {
    "next_offset": {"type": ["integer", "null"], "description": "offset of the next page, null at the end"}
}

OPENAPI = {
    "openapi": "3.1.0",
    "info": {
        "title": "Geostream trips-api",
        "version": "1.0.0",
        "description": "Vehicle history from MobilityDB. The time window defaults to the last hour and "
        "spans at most API_MAX_WINDOW_DAYS. A trip is a run of positions without a silence longer than "
        "the configured gap.",
    },
    "paths": {
        "/api/vehicles/latest": _get(
            "Latest position of every vehicle (optionally in an area, not older than since)",
            [_BBOX, _POLYGON, {"name": "since", "in": "query", **_TIME}, _LIMIT, _OFFSET],
            {"type": "object", "properties": {"vehicles": {"type": "array"}, **_PAGE}},
        ),
        "/api/vehicles/{vehicle_id}/trajectory": _get(
            "A vehicle's trajectory between two times",
            [_ID, _START, _END, {"name": "format", "in": "query", "schema": {"enum": ["trips", "mfjson"]}}],
            {"type": "object", "properties": {"trips": {"type": "array", "items": _TRIP}, "trajectory": {}}},
        ),
        "/api/vehicles/{vehicle_id}/stats": _get(
            "Length (m), moving duration (s), average and maximum speed (m/s) of a vehicle in a window",
            [_ID, _START, _END],
            {"type": "object"},
        ),
        "/api/stats": _get(
            "The same statistics for every vehicle with data in the window", [_START, _END], {}
        ),
        "/api/trips": _get(
            "Trips in a time window, optionally touching an area, in deck.gl TripsLayer shape",
            [_START, _END, _BBOX, _POLYGON, _LIMIT, _OFFSET],
            {"type": "object", "properties": {"trips": {"type": "array", "items": _TRIP}, **_PAGE}},
        ),
        "/api/vehicles": _get(
            "Vehicles inside an area during a time window, with their first and last time inside",
            [_START, _END, _BBOX, _POLYGON, _LIMIT, _OFFSET],
            {"type": "object", "properties": {"vehicles": {"type": "array"}, **_PAGE}},
        ),
        "/api/devices/status": _get(
            "Every device: online or offline (silent longer than offline_after), last seen, last speed",
            [{"name": "offline_after", "in": "query", **_DURATION}],
            {
                "type": "object",
                "properties": {
                    "offline_after_s": {"type": "number"},
                    "online": {"type": "integer"},
                    "offline": {"type": "integer"},
                    "devices": {"type": "array", "items": _DEVICE_STATUS},
                },
            },
        ),
        "/api/devices/{device_id}/latest": _get(
            "A device's newest point and status (404 when it never sent one)",
            [_DEVICE, {"name": "offline_after", "in": "query", **_DURATION}],
            _DEVICE_STATUS,
        ),
        "/api/devices/{device_id}/history": _get(
            "A device's points over the last duration (default 5m), oldest first",
            [_DEVICE, {"name": "duration", "in": "query", **_DURATION}, _LIMIT],
            {"type": "object", "properties": {"points": {"type": "array"}}},
        ),
        "/health": {
            "get": {"summary": "200 when MobilityDB answers", "responses": {"200": {"description": "OK"}}}
        },
    },
}
