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

_TIMESTAMP = {
    "description": "epoch seconds, milliseconds, microseconds or nanoseconds (told apart by magnitude), "
    "or an ISO 8601 date-time (UTC when it has no offset)",
    "oneOf": [{"type": "number", "minimum": 0}, {"type": "string"}],
}

OPENAPI = {
    "openapi": "3.1.0",
    "info": {
        "title": "Geostream http-ingest",
        "version": "1.0.0",
        "description": "Batches of vehicle positions into Kafka (`locations_topic`). "
        "A 202 means every point is "
        "durably in Kafka (acks=all); nothing is sent when any item is invalid.",
    },
    "paths": {
        "/ingest/location": {
            "post": {
                "summary": "Send positions of one or more vehicles",
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
                    "400": {
                        "description": "invalid JSON or batch",
                        "content": {"application/json": {"schema": _ERROR}},
                    },
                    "413": {
                        "description": "body too large",
                        "content": {"application/json": {"schema": _ERROR}},
                    },
                    "415": {
                        "description": "not application/json",
                        "content": {"application/json": {"schema": _ERROR}},
                    },
                    "503": {
                        "description": "Kafka unavailable or too slow; retry after Retry-After seconds",
                        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                        "content": {"application/json": {"schema": _ERROR}},
                    },
                },
            }
        },
        "/health": {
            "get": {
                "summary": "200 when Kafka is reachable, 503 otherwise",
                "responses": {"200": {"description": "healthy"}, "503": {"description": "Kafka unreachable"}},
            }
        },
    },
    "components": {"schemas": {"LocationMessage": contracts.schema("locations_topic")}},
}
