"""Writes ``buoys.ndjson``, the Kibana saved objects of the Buoys dashboard.

Run ``python kibana/build_saved_objects.py`` after editing this file.

The NDJSON is the versioned artefact (kibana-setup imports it); this script is how it is edited, so the
nested JSON-in-JSON strings Kibana wants (panelsJSON, layerListJSON, visState) stay consistent.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA_VIEW_ID = "sensor-readings"
CORE_VERSION = "8.8.0"


def data_view() -> dict:
    return {
        "type": "index-pattern",
        "id": DATA_VIEW_ID,
        "attributes": {"title": "sensor-readings*", "name": "Sensor readings", "timeFieldName": "@timestamp"},
        "references": [],
        "coreMigrationVersion": CORE_VERSION,
        "typeMigrationVersion": "8.0.0",
    }


def line_chart(object_id: str, field: str, label: str) -> dict:
    layer = "readings"
    columns = {
        "time": {
            "label": "@timestamp",
            "dataType": "date",
            "operationType": "date_histogram",
            "sourceField": "@timestamp",
            "isBucketed": True,
            "scale": "interval",
            "params": {"interval": "auto", "includeEmptyRows": False, "dropPartials": False},
        },
        "sensor": {
            "label": "Sensor",
            "dataType": "string",
            "operationType": "terms",
            "sourceField": "sensor_id",
            "isBucketed": True,
            "scale": "ordinal",
            "params": {
                "size": 20,
                "orderBy": {"type": "alphabetical", "fallback": True},
                "orderDirection": "asc",
                "otherBucket": False,
                "missingBucket": False,
            },
        },
        "value": {
            "label": label,
            "customLabel": True,
            "dataType": "number",
            "operationType": "average",
            "sourceField": field,
            "isBucketed": False,
            "scale": "ratio",
            "params": {"emptyAsNull": True},
        },
    }
    return {
        "type": "lens",
        "id": object_id,
        "attributes": {
            "title": f"Buoys: {label.split(' (', maxsplit=1)[0].lower()} per sensor",
            "description": f"Average {field} per sensor over time",
            "visualizationType": "lnsXY",
            "state": {
                "datasourceStates": {
                    "formBased": {
                        "layers": {
                            layer: {"columnOrder": ["sensor", "time", "value"], "columns": columns},
                        }
                    }
                },
                "visualization": {
                    "preferredSeriesType": "line",
                    "legend": {"isVisible": True, "position": "right"},
                    "valueLabels": "hide",
                    "layers": [
                        {
                            "layerId": layer,
                            "layerType": "data",
                            "seriesType": "line",
                            "xAccessor": "time",
                            "accessors": ["value"],
                            "splitAccessor": "sensor",
                        }
                    ],
                },
                "query": {"query": "", "language": "kuery"},
                "filters": [],
            },
        },
        "references": [
            {"type": "index-pattern", "id": DATA_VIEW_ID, "name": f"indexpattern-datasource-layer-{layer}"}
        ],
        "coreMigrationVersion": CORE_VERSION,
        "typeMigrationVersion": "8.9.0",
    }


def positions_map() -> dict:
    layers = [
        {
            "id": "basemap",
            "type": "EMS_VECTOR_TILE",
            "label": "Basemap",
            "sourceDescriptor": {"type": "EMS_TMS", "isAutoSelect": True, "lightModeDefault": "road_map"},
            "visible": True,
            "alpha": 1,
            "minZoom": 0,
            "maxZoom": 24,
            "style": {"type": "EMS_VECTOR_TILE", "color": ""},
            "includeInFitToBounds": True,
        },
        {
            "id": "buoys",
            "type": "GEOJSON_VECTOR",
            "label": "Buoys (latest position, colour = temperature)",
            "sourceDescriptor": {
                "type": "ES_SEARCH",
                "id": "buoys-source",
                "indexPatternRefName": "layer_1_source_index_pattern",
                "geoField": "location",
                "scalingType": "TOP_HITS",
                "topHitsSplitField": "sensor_id",
                "topHitsSize": 1,
                "sortField": "@timestamp",
                "sortOrder": "desc",
                "tooltipProperties": ["sensor_id", "@timestamp", "temperature", "humidity", "pressure"],
                "applyGlobalQuery": True,
                "applyGlobalTime": True,
                "applyForceRefresh": True,
            },
            "visible": True,
            "alpha": 0.9,
            "minZoom": 0,
            "maxZoom": 24,
            "includeInFitToBounds": True,
            "joins": [],
            "style": {
                "type": "VECTOR",
                "isTimeAware": True,
                "properties": {
                    "fillColor": {
                        "type": "DYNAMIC",
                        "options": {
                            "color": "Yellow to Red",
                            "colorCategory": "palette_0",
                            "field": {"name": "temperature", "origin": "source"},
                            "fieldMetaOptions": {"isEnabled": True, "sigma": 3},
                            "type": "ORDINAL",
                        },
                    },
                    "lineColor": {"type": "STATIC", "options": {"color": "#3d3d3d"}},
                    "lineWidth": {"type": "STATIC", "options": {"size": 1}},
                    "iconSize": {"type": "STATIC", "options": {"size": 10}},
                    "symbolizeAs": {"options": {"value": "circle"}},
                    "icon": {"type": "STATIC", "options": {"value": "marker"}},
                    "labelText": {
                        "type": "DYNAMIC",
                        "options": {"field": {"name": "sensor_id", "origin": "source"}},
                    },
                },
            },
        },
    ]
    map_state = {
        "zoom": 11.5,
        "center": {"lon": 3.145, "lat": 42.48},
        "timeFilters": {"from": "now-15m", "to": "now"},
        "refreshConfig": {"isPaused": False, "interval": 10000},
        "query": {"query": "", "language": "kuery"},
        "filters": [],
        "settings": {"autoFitToDataBounds": False},
    }
    return {
        "type": "map",
        "id": "buoys-map",
        "attributes": {
            "title": "Buoys: latest positions",
            "description": "Latest position of each buoy, coloured by temperature",
            "mapStateJSON": json.dumps(map_state),
            "layerListJSON": json.dumps(layers),
            "uiStateJSON": json.dumps({"isLayerTOCOpen": True, "openTOCDetails": []}),
        },
        "references": [{"type": "index-pattern", "id": DATA_VIEW_ID, "name": "layer_1_source_index_pattern"}],
        "coreMigrationVersion": CORE_VERSION,
        "typeMigrationVersion": "8.4.0",
    }


# A Vega table: Lens has no "now", and the age of each sensor's last reading needs it.
SENSOR_TABLE_SPEC = {
    "$schema": "https://vega.github.io/schema/vega/v5.json",
    "title": "Sensors: last reading and age",
    "autosize": {"type": "fit-x", "contains": "padding"},
    "height": 400,
    "data": [
        {
            "name": "sensors",
            "url": {
                "index": "sensor-readings*",
                "%context%": True,
                "%timefield%": "@timestamp",
                "body": {
                    "size": 0,
                    "aggs": {
                        "sensors": {
                            "terms": {"field": "sensor_id", "size": 200, "order": {"_key": "asc"}},
                            "aggs": {
                                "latest": {
                                    "top_hits": {
                                        "size": 1,
                                        "sort": [{"@timestamp": {"order": "desc"}}],
                                        "_source": ["@timestamp", "temperature", "humidity", "pressure"],
                                    }
                                }
                            },
                        }
                    },
                },
            },
            "format": {"property": "aggregations.sensors.buckets"},
            "transform": [
                {"type": "formula", "as": "last"},
                {"type": "formula", "as": "at"},
                {"type": "formula", "as": "age_s"},
                {"type": "window", "ops": ["row_number"], "as": ["row"]},
            ],
        },
        {
            "name": "columns",
            "values": [
                {"title": "Sensor", "x": 0},
                {"title": "Last reading (UTC)", "x": 0.2},
                {"title": "Age (s)", "x": 0.45},
                {"title": "Temperature (°C)", "x": 0.57},
                {"title": "Humidity (%)", "x": 0.73},
                {"title": "Pressure (hPa)", "x": 0.87},
            ],
        },
    ],
    "marks": [
        {
            "type": "text",
            "from": {"data": "columns"},
            "encode": {
                "update": {
                    "x": {"signal": "datum.x * width"},
                    "y": {"value": 0},
                    "text": {"field": "title"},
                    "fontWeight": {"value": "bold"},
                }
            },
        },
        {
            "type": "text",
            "from": {"data": "sensors"},
            "encode": {
                "update": {
                    "x": {"value": 0},
                    "y": {"signal": "datum.row * 20"},
                    "text": {"field": "key"},
                }
            },
        },
        {
            "type": "text",
            "from": {"data": "sensors"},
            "encode": {
                "update": {
                    "x": {"signal": "0.2 * width"},
                    "y": {"signal": "datum.row * 20"},
                    "text": {"signal": "utcFormat(datum.at, '%Y-%m-%d %H:%M:%S')"},
                }
            },
        },
        {
            "type": "text",
            "from": {"data": "sensors"},
            "encode": {
                "update": {
                    "x": {"signal": "0.45 * width"},
                    "y": {"signal": "datum.row * 20"},
                    "text": {"signal": "format(datum.age_s, 'd')"},
                    "fill": {"signal": "datum.age_s > 60 ? '#bd271e' : '#000000'"},
                }
            },
        },
        *(
            {
                "type": "text",
                "from": {"data": "sensors"},
                "encode": {
                    "update": {
                        "x": {"signal": f"{x} * width"},
                        "y": {"signal": "datum.row * 20"},
                        "text": {"signal": f"format(datum.last.{field}, '.2f')"},
                    }
                },
            }
            for x, field in ((0.57, "temperature"), (0.73, "humidity"), (0.87, "pressure"))
        ),
    ],
}


def sensor_table() -> dict:
    vis_state = {
        "title": "Buoys: sensors, last reading and age",
        "type": "vega",
        "aggs": [],
        "params": {"spec": json.dumps(SENSOR_TABLE_SPEC, indent=2, ensure_ascii=False)},
    }
    return {
        "type": "visualization",
        "id": "buoys-sensor-table",
        "attributes": {
            "title": vis_state["title"],
            "description": "One row per sensor: time of its last reading, its age and its last values",
            "visState": json.dumps(vis_state, ensure_ascii=False),
            "uiStateJSON": "{}",
            "kibanaSavedObjectMeta": {
                "searchSourceJSON": json.dumps({"query": {"query": "", "language": "kuery"}, "filter": []})
            },
        },
        "references": [],
        "coreMigrationVersion": CORE_VERSION,
        "typeMigrationVersion": "8.5.0",
    }


def dashboard(panels: list[tuple[dict, dict]]) -> dict:
    panel_list, references = [], []
    for index, (saved, grid) in enumerate(panels, start=1):
        panel_id = f"panel-{index}"
        panel_list.append(
            {
                "type": saved["type"],
                "panelIndex": panel_id,
                "gridData": {**grid, "i": panel_id},
                "embeddableConfig": {"enhancements": {}},
                "panelRefName": f"panel_{panel_id}",
            }
        )
        references.append({"type": saved["type"], "id": saved["id"], "name": f"{panel_id}:panel_{panel_id}"})
    return {
        "type": "dashboard",
        "id": "buoys-dashboard",
        "attributes": {
            "title": "Buoys",
            "description": "Buoy sensors off Banyuls-sur-Mer: positions, readings and sensor status",
            "panelsJSON": json.dumps(panel_list),
            "optionsJSON": json.dumps({"useMargins": True, "syncColors": True, "hidePanelTitles": False}),
            "timeRestore": True,
            "timeFrom": "now-15m",
            "timeTo": "now",
            "refreshInterval": {"pause": False, "value": 10000},
            "kibanaSavedObjectMeta": {
                "searchSourceJSON": json.dumps({"query": {"query": "", "language": "kuery"}, "filter": []})
            },
        },
        "references": references,
        "coreMigrationVersion": CORE_VERSION,
        "typeMigrationVersion": "8.9.0",
    }


def saved_objects() -> list[dict]:
    temperature = line_chart("buoys-temperature", "temperature", "Temperature (°C)")
    humidity = line_chart("buoys-humidity", "humidity", "Humidity (%)")
    pressure = line_chart("buoys-pressure", "pressure", "Pressure (hPa)")
    positions = positions_map()
    table = sensor_table()
    board = dashboard(
        [
            (positions, {"x": 0, "y": 0, "w": 24, "h": 18}),
            (table, {"x": 24, "y": 0, "w": 24, "h": 18}),
            (temperature, {"x": 0, "y": 18, "w": 16, "h": 14}),
            (humidity, {"x": 16, "y": 18, "w": 16, "h": 14}),
            (pressure, {"x": 32, "y": 18, "w": 16, "h": 14}),
        ]
    )
    return [data_view(), temperature, humidity, pressure, positions, table, board]


def render() -> str:
    return "".join(json.dumps(obj, ensure_ascii=False, sort_keys=True) + "\n" for obj in saved_objects())


if __name__ == "__main__":
    (HERE / "buoys.ndjson").write_text(render(), encoding="utf-8")
