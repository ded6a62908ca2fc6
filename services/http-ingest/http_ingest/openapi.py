"""OpenAPI 3.1 description of the service, served at ``GET /openapi.json``."""

from geostream import contracts

_ERROR = {
    "type": "object",
    "required": ["status", "error", "message"],
    "properties": {
        "status": {"const": "error"},
        "error": {"type": "string", "examples": ["invalid_batch"]},
        "message": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "examples": ["[0].path[1][1]"]},
                    "reason": {"type": "string", "examples": ["latitude 95 outside [-90, 90]"]},
                },
            },
        },
    },
}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


_REJECTS = {
    "401": {
        **_error("missing or invalid credentials"),
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    },
    "403": _error("the credentials may not write this vehicle id"),
    "413": _error("body too large"),
}
_UNAVAILABLE = {
    "503": {
        **_error("Kafka did not acknowledge every point; retry after Retry-After seconds"),
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    }
}
_OSMAND_PARAMS = [
    {"name": name, "in": "query", "required": False, "schema": schema, "description": text}
    for name, schema, text in (
        ("id", {"type": "string"}, "device id (or deviceid)"),
        ("deviceid", {"type": "string"}, "device id"),
        ("lat", {"type": "string"}, "latitude, degrees"),
        ("lon", {"type": "string"}, "longitude, degrees"),
        ("location", {"type": "string"}, "'lat,lon' instead of lat and lon"),
        ("timestamp", {"type": "string"}, "epoch s (< 2^31-1) or ms, ISO 8601 or 'yyyy-MM-dd HH:mm:ss'"),
        ("speed", {"type": "string"}, "knots"),
        ("bearing", {"type": "string"}, "degrees"),
        ("altitude", {"type": "string"}, "metres"),
        ("accuracy", {"type": "string"}, "metres"),
        ("batt", {"type": "string"}, "percent"),
        ("valid", {"type": "string"}, "false: the fix is flagged invalid and ignored"),
        ("token", {"type": "string"}, "API token (instead of Authorization: Bearer)"),
    )
]
_OSMAND_FORM = {
    "type": "object",
    "properties": {p["name"]: p["schema"] for p in _OSMAND_PARAMS},
}
_OSMAND_JSON = {
    "type": "object",
    "description": "Traccar Client 9 JSON format",
    "properties": {
        "device_id": {"type": "string"},
        "location": {
            "type": "object",
            "properties": {
                "timestamp": {"type": "string", "format": "date-time"},
                "coords": {
                    "type": "object",
                    "properties": {
                        k: {"type": "number"}
                        for k in ("latitude", "longitude", "speed", "heading", "altitude", "accuracy")
                    },
                },
                "battery": {"type": "object", "properties": {"level": {"type": "number"}}},
            },
        },
    },
}
_OSMAND = {
    "summary": "OsmAnd protocol (Traccar Client, OsmAnd app): one position",
    "parameters": _OSMAND_PARAMS,
    "responses": {
        "200": {"description": "the point is in Kafka (or the request carried no position)"},
        "400": _error("malformed request"),
        "405": _error("the GET form is disabled (OSMAND_ALLOW_GET)"),
        **_REJECTS,
        **_UNAVAILABLE,
    },
}
_OSMAND_BODY = {
    "required": False,
    "content": {
        "application/x-www-form-urlencoded": {"schema": _OSMAND_FORM},
        "application/json": {"schema": _OSMAND_JSON},
    },
}


def _osmand(body: dict | None = None, **overrides: str) -> dict:
    """An OsmAnd operation: token in the query or a bearer header, or none when ingest is open."""
    operation = {**_OSMAND, "security": [{"tokenParam": []}, {"bearerAuth": []}, {}], **overrides}
    return {**operation, "requestBody": body} if body else operation


_OWNTRACKS = {
    "post": {
        "summary": "OwnTracks HTTP mode: one app message",
        "description": "Identity from X-Limit-U/X-Limit-D, ?u=/?d=, the body's topic or tid. Every "
        "well-formed message gets 200 [] (the apps drop or endlessly retry a 4xx).",
        "parameters": [
            {"name": "X-Limit-U", "in": "header", "required": False, "schema": {"type": "string"}},
            {"name": "X-Limit-D", "in": "header", "required": False, "schema": {"type": "string"}},
            {"name": "u", "in": "query", "required": False, "schema": {"type": "string"}},
            {"name": "d", "in": "query", "required": False, "schema": {"type": "string"}},
        ],
        "requestBody": {
            "required": False,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["_type"],
                        "properties": {
                            "_type": {"type": "string", "examples": ["location"]},
                            "lat": {"type": "number"},
                            "lon": {"type": "number"},
                            "tst": {"type": "integer", "description": "epoch seconds of the fix"},
                            "vel": {"type": "number", "description": "km/h"},
                            "cog": {"type": "number"},
                            "alt": {"type": "number"},
                            "acc": {"type": "number"},
                            "batt": {"type": "number"},
                            "tid": {"type": "string"},
                            "topic": {"type": "string"},
                        },
                    },
                    "example": {
                        "_type": "location",
                        "lat": 48.85,
                        "lon": 2.35,
                        "tst": 1700000000,
                        "tid": "ph",
                    },
                }
            },
        },
        "security": [{"basicAuth": []}, {}],
        "responses": {
            "200": {
                "description": "accepted (or a message type without a point)",
                "content": {"application/json": {"schema": {"type": "array"}}},
            },
            "400": _error("malformed message"),
            **_REJECTS,
            **_UNAVAILABLE,
        },
    }
}

_TIMESTAMP = {
    "description": "epoch seconds, milliseconds, microseconds or nanoseconds (told apart by magnitude), "
    "or an ISO 8601 date-time (UTC when it has no offset)",
    "oneOf": [{"type": "number", "minimum": 0}, {"type": "string"}],
}

OPENAPI = {
    "openapi": "3.1.0",
    "info": {
        "title": "Geostream http-ingest",
        "version": "1.1.0",
        "description": "Vehicle positions into Kafka (`locations_topic`): batches, OwnTracks HTTP mode and "
        "the OsmAnd protocol. A 2xx means every point is durably in Kafka (acks=all); nothing is sent "
        "when any item is invalid.",
    },
    "components": {
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "description": "INGEST_TOKENS"},
            "basicAuth": {"type": "http", "scheme": "basic", "description": "OWNTRACKS_USERS"},
            "tokenParam": {"type": "apiKey", "in": "query", "name": "token", "description": "INGEST_TOKENS"},
        },
        "schemas": {"LocationMessage": contracts.schema("locations_topic")},
    },
    "paths": {
        "/ingest/location": {
            "post": {
                "summary": "Send positions of one or more vehicles",
                "security": [{"bearerAuth": []}, {}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "object",
                                    "required": ["vehicleID", "path", "timestamps"],
                                    "properties": {
                                        "vehicleID": {"type": "string", "minLength": 1, "maxLength": 128},
                                        "vehicle_id": {"type": "string", "description": "alias of vehicleID"},
                                        "path": {
                                            "type": "array",
                                            "items": {
                                                "type": "array",
                                                "minItems": 2,
                                                "maxItems": 3,
                                                "description": "[lon, lat] or [lon, lat, alt_m]",
                                                "items": {"type": "number"},
                                            },
                                        },
                                        "timestamps": {"type": "array", "items": _TIMESTAMP},
                                    },
                                },
                            },
                            "example": [
                                {
                                    "vehicleID": "plane-001",
                                    "path": [[1.1543, 56.74], [1.1643, 56.84]],
                                    "timestamps": [1693564800, 1693568400],
                                }
                            ],
                        }
                    },
                },
                "responses": {
                    "202": {
                        "description": "every point acknowledged by Kafka",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "status": {"const": "ok"},
                                        "sent": {"type": "integer"},
                                        "message": {"type": "string"},
                                        "duplicates": {
                                            "type": "integer",
                                            "description": "points dropped: same vehicle and time twice",
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "400": _error("invalid JSON or batch"),
                    **_REJECTS,
                    "415": _error("not application/json"),
                    **_UNAVAILABLE,
                },
            }
        },
        "/pub": _OWNTRACKS,
        "/ingest/owntracks": _OWNTRACKS,
        "/ingest/osmand": {"get": _osmand(), "post": _osmand(_OSMAND_BODY)},
        "/": {
            "get": _osmand(
                summary="Without a query: this service's description; with one: the OsmAnd GET form"
            ),
            "post": _osmand(
                _OSMAND_BODY,
                summary="OsmAnd protocol at the root, as Traccar Client sends it to http://host:5000",
            ),
        },
        "/health": {
            "get": {
                "summary": "200 when the output topic takes records and the latest delivery succeeded",
                "responses": {
                    "200": {"description": "healthy"},
                    "503": {"description": "Kafka unreachable, topic missing, or deliveries failing"},
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics, summed over the gunicorn workers",
                "responses": {"200": {"description": "text exposition format"}},
            }
        },
        "/openapi.json": {
            "get": {"summary": "this document", "responses": {"200": {"description": "OpenAPI 3.1"}}}
        },
    },
}
